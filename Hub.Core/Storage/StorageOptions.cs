using System.ComponentModel.DataAnnotations;

namespace Hub.Core.Storage;

/// <summary>Where Hub keeps its state. Bound from <c>Hub:Redis</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Hub:Redis";

    /// <summary>
    /// StackExchange.Redis configuration string, e.g. <c>redis:6379,password=...,ssl=true</c>.
    /// Empty starts an embedded Microsoft Garnet server on loopback instead (local runs only).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every key Hub writes, so several Hubs (or tests) can share one Redis.</summary>
    [Required, RegularExpression("^[A-Za-z0-9:_.-]{1,64}$", ErrorMessage = "Hub:Redis:KeyPrefix may only contain letters, digits and : _ . - (at most 64).")]
    public string KeyPrefix { get; set; } = "hub:";

    /// <summary>Loopback port of the embedded store; 0 picks a free one.</summary>
    [Range(0, 65535)]
    public int EmbeddedPort { get; set; }
}

/// <summary>Settings shared by the whole service. Bound from <c>Hub</c>.</summary>
public sealed class HubOptions
{
    public const string SectionName = "Hub";

    /// <summary>
    /// Folder for local state: the embedded store's files and, in Development only, the generated
    /// admin key and encryption key file. Relative paths are resolved against the content root.
    /// </summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Hub's public base URL as browsers and Mailchimp see it, e.g. <c>https://hub.example.com</c>.</summary>
    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>The absolute URL of one of Hub's own paths (<c>/api/v1/jobs/job_...</c>), as clients and webhooks are given it.</summary>
    public string PublicUrl(string path) => PublicBaseUrl.TrimEnd('/') + path;
}
