namespace Hub.Core.Mailchimp;

// List webhooks: Mailchimp calls Hub back when people change in an audience (Hub.Core/Events).
// Spec 3.0.55: postListsIdWebhooks, getListsIdWebhooksId, deleteListsIdWebhooksId; FACTS.md §9.
public sealed partial class MailchimpClient
{
    /// <summary>
    /// <c>POST /lists/{list_id}/webhooks</c>. Mailchimp checks the URL with a GET before it answers, so the receiver must
    /// know the URL already. Not retried: a retry after a lost answer would register a second webhook.
    /// </summary>
    public Task<MailchimpResult<MailchimpListWebhook>> CreateListWebhookAsync(
        MailchimpCredential credential, string listId, MailchimpListWebhookCreate webhook, CancellationToken cancellationToken) =>
        CallAsync(credential, "create_list_webhook", HttpMethod.Post, $"{ListPath(listId)}/webhooks",
            Body(webhook, Json.MailchimpListWebhookCreate), Json.MailchimpListWebhook, cancellationToken);

    /// <summary><c>GET /lists/{list_id}/webhooks/{webhook_id}</c>: 404 when the webhook (or the audience) is gone.</summary>
    public Task<MailchimpResult<MailchimpListWebhook>> GetListWebhookAsync(
        MailchimpCredential credential, string listId, string webhookId, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_list_webhook", HttpMethod.Get, $"{ListPath(listId)}/webhooks/{Uri.EscapeDataString(webhookId)}",
            null, Json.MailchimpListWebhook, cancellationToken);

    /// <summary><c>DELETE /lists/{list_id}/webhooks/{webhook_id}</c>.</summary>
    public Task<MailchimpResult> DeleteListWebhookAsync(MailchimpCredential credential, string listId, string webhookId, CancellationToken cancellationToken) =>
        CallAsync(credential, "delete_list_webhook", HttpMethod.Delete, $"{ListPath(listId)}/webhooks/{Uri.EscapeDataString(webhookId)}", null, cancellationToken);
}
