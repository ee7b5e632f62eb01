using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Hub.Sandbox;

/// <summary>
/// Everything the sandbox knows, in memory. One lock guards it all: operations are short and
/// correctness under concurrent requests matters more than throughput. Tests resolve this
/// singleton from DI to assert what Mailchimp would hold.
/// </summary>
public sealed partial class SandboxState
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly SandboxOptions _options;

    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OAuthApp> _apps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AuthorizationCode> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Credential> _credentials = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Audience> _audiences = new(StringComparer.Ordinal);
    private readonly List<SandboxFault> _faults = [];
    private readonly Dictionary<string, long> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _routeStatuses = new(StringComparer.Ordinal);
    private long _created, _updated, _archived, _deleted, _faultsInjected, _throttled;
    private TimeSpan _perCallLatency;
    private TimeSpan _perMemberLatency;

    public SandboxState(IOptions<SandboxOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        Reset();
    }

    internal SandboxOptions Options => _options;

    internal TimeProvider Time => _time;

    /// <summary>The account seeded from <see cref="SandboxOptions"/>; it consents when no other is chosen.</summary>
    public string DefaultAccountId { get; private set; } = "";

    /// <summary>An API key for the seeded account, printed by the standalone host.</summary>
    public string DefaultApiKey { get; private set; } = "";

    /// <summary>Forgets everything (list webhooks and their pending deliveries too) and seeds the default account and OAuth app again.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _accounts.Clear();
            _apps.Clear();
            _codes.Clear();
            _credentials.Clear();
            ResetWebhooksLocked();
            _audiences.Clear();
            _faults.Clear();
            ResetCountersLocked();
            _perCallLatency = _options.PerCallLatency;
            _perMemberLatency = _options.PerMemberLatency;
            StrictRequestBodies = _options.StrictRequestBodies;
            ResetCapture();
            var account = CreateAccountLocked(_options.DefaultAccountName, _options.DefaultAccountDc, _options.DefaultLoginEmail, null, null);
            DefaultAccountId = account.Id;
            DefaultApiKey = account.ApiKey!;
            _apps[_options.DefaultClientId] = new OAuthApp
            {
                ClientId = _options.DefaultClientId,
                ClientSecret = _options.DefaultClientSecret,
                RedirectUri = _options.DefaultRedirectUri,
            };
        }
    }

    // ---- Accounts, apps, credentials ----

    public SandboxAccount CreateAccount(string name, string dc, string? loginEmail = null, int? audienceLimit = null, int? maxConcurrentRequests = null)
    {
        lock (_gate)
        {
            return CreateAccountLocked(name, dc, loginEmail ?? $"owner-{Ids.Hex(6)}@sandbox.test", audienceLimit, maxConcurrentRequests);
        }
    }

    private SandboxAccount CreateAccountLocked(string name, string dc, string loginEmail, int? audienceLimit, int? maxConcurrent)
    {
        var account = new Account
        {
            Id = Ids.Hex(25),
            Name = name,
            Dc = dc,
            LoginEmail = loginEmail,
            LoginId = Ids.SmallNumber().ToString(System.Globalization.CultureInfo.InvariantCulture),
            AudienceLimit = audienceLimit ?? _options.AudienceLimitPerAccount,
            MaxConcurrentRequests = maxConcurrent ?? _options.MaxConcurrentRequestsPerAccount,
            CreatedAt = _time.GetUtcNow(),
        };
        _accounts[account.Id] = account;
        var key = AddCredentialLocked(account, CredentialKind.ApiKey);
        return ToView(account, key);
    }

    public SandboxAccount? UpdateAccount(string accountId, string? name, int? audienceLimit, int? maxConcurrentRequests)
    {
        lock (_gate)
        {
            if (!_accounts.TryGetValue(accountId, out var account)) return null;
            if (name is not null) account.Name = name;
            if (audienceLimit is { } limit) account.AudienceLimit = limit;
            if (maxConcurrentRequests is { } max) account.MaxConcurrentRequests = max;
            return ToView(account, null);
        }
    }

    public IReadOnlyList<SandboxAccount> GetAccounts()
    {
        lock (_gate)
        {
            return _accounts.Values.OrderBy(a => a.CreatedAt).Select(a => ToView(a, null)).ToList();
        }
    }

    public SandboxAccount? GetAccount(string accountId)
    {
        lock (_gate)
        {
            return _accounts.TryGetValue(accountId, out var account) ? ToView(account, null) : null;
        }
    }

    /// <summary>A new API key (<c>&lt;32 hex&gt;-&lt;dc&gt;</c>) for the account, or null when it does not exist.</summary>
    public string? CreateApiKey(string accountId) => AddCredential(accountId, CredentialKind.ApiKey);

    /// <summary>An OAuth access token for the account without the browser flow.</summary>
    public string? MintToken(string accountId) => AddCredential(accountId, CredentialKind.OAuthToken);

    private string? AddCredential(string accountId, CredentialKind kind)
    {
        lock (_gate)
        {
            return _accounts.TryGetValue(accountId, out var account) ? AddCredentialLocked(account, kind) : null;
        }
    }

    private string AddCredentialLocked(Account account, CredentialKind kind)
    {
        var value = kind == CredentialKind.ApiKey ? $"{Ids.Hex(32)}-{account.Dc}" : Ids.Hex(32);
        _credentials[value] = new Credential { Value = value, AccountId = account.Id, Kind = kind };
        return value;
    }

    /// <summary>Revokes a key or token; later calls with it get 401 and metadata answers invalid_token.</summary>
    public bool Revoke(string credential)
    {
        lock (_gate)
        {
            if (!_credentials.TryGetValue(credential, out var found)) return false;
            found.Revoked = true;
            return true;
        }
    }

    internal Account? Authenticate(string credential, bool oauthOnly = false)
    {
        lock (_gate)
        {
            if (!_credentials.TryGetValue(credential, out var found) || found.Revoked) return null;
            if (oauthOnly && found.Kind != CredentialKind.OAuthToken) return null;
            return _accounts.GetValueOrDefault(found.AccountId);
        }
    }

    public SandboxApp RegisterApp(string clientId, string clientSecret, string redirectUri)
    {
        lock (_gate)
        {
            _apps[clientId] = new OAuthApp { ClientId = clientId, ClientSecret = clientSecret, RedirectUri = redirectUri };
            return new SandboxApp(clientId, clientSecret, redirectUri);
        }
    }

    internal SandboxApp? FindApp(string clientId)
    {
        lock (_gate)
        {
            return _apps.TryGetValue(clientId, out var app) ? new SandboxApp(app.ClientId, app.ClientSecret, app.RedirectUri) : null;
        }
    }

    internal string IssueCode(string clientId, string redirectUri, string accountId)
    {
        var code = Ids.Hex(32);
        lock (_gate)
        {
            _codes[code] = new AuthorizationCode(code, clientId, redirectUri, accountId, _time.GetUtcNow() + _options.AuthorizationCodeLifetime);
        }
        return code;
    }

    /// <summary>Removes the code whatever happens next, so it is single use even when the exchange fails.</summary>
    internal AuthorizationCode? RedeemCode(string code)
    {
        lock (_gate)
        {
            if (!_codes.Remove(code, out var found)) return null;
            return found.ExpiresAt > _time.GetUtcNow() ? found : null;
        }
    }

    private static SandboxAccount ToView(Account a, string? apiKey) =>
        new(a.Id, a.Name, a.Dc, a.LoginEmail, a.LoginId, a.AudienceLimit, a.MaxConcurrentRequests, apiKey);

    // ---- Latency, faults, counters ----

    public SandboxLatency GetLatency()
    {
        lock (_gate) return new((int)_perCallLatency.TotalMilliseconds, (int)_perMemberLatency.TotalMilliseconds);
    }

    public void SetLatency(TimeSpan perCall, TimeSpan perMember)
    {
        lock (_gate)
        {
            _perCallLatency = perCall;
            _perMemberLatency = perMember;
        }
    }

    internal TimeSpan PerCallLatency { get { lock (_gate) return _perCallLatency; } }

    internal TimeSpan PerMemberLatency { get { lock (_gate) return _perMemberLatency; } }

    public SandboxFault AddFault(string route, string kind, double share, int? times)
    {
        var fault = new SandboxFault(Ids.Hex(8), route, kind, share, times);
        lock (_gate) _faults.Add(fault);
        return fault;
    }

    public IReadOnlyList<SandboxFault> GetFaults()
    {
        lock (_gate) return _faults.ToList();
    }

    public bool RemoveFault(string id)
    {
        lock (_gate) return _faults.RemoveAll(f => f.Id == id) > 0;
    }

    public void ClearFaults()
    {
        lock (_gate) _faults.Clear();
    }

    /// <summary>Picks the fault to inject for this call, if any, and uses up one of its <c>times</c>.</summary>
    internal string? DrawFault(SandboxRoute route, string method, string pattern)
    {
        lock (_gate)
        {
            for (var i = 0; i < _faults.Count; i++)
            {
                var fault = _faults[i];
                if (!route.Matches(fault.Route, method, pattern)) continue;
                if (fault.Share < 1 && Random.Shared.NextDouble() >= fault.Share) continue;
                if (fault.Times is { } times)
                {
                    if (times <= 1) _faults.RemoveAt(i);
                    else _faults[i] = fault with { Times = times - 1 };
                }
                _faultsInjected++;
                return fault.Kind;
            }
            return null;
        }
    }

    internal bool TryEnter(Account account)
    {
        var now = Interlocked.Increment(ref account.InFlight);
        if (now > account.MaxConcurrentRequests)
        {
            Interlocked.Decrement(ref account.InFlight);
            lock (_gate) _throttled++;
            return false;
        }
        int seen;
        while (now > (seen = Volatile.Read(ref account.MaxInFlight)) &&
               Interlocked.CompareExchange(ref account.MaxInFlight, now, seen) != seen)
        {
        }
        return true;
    }

    internal static void Exit(Account account) => Interlocked.Decrement(ref account.InFlight);

    internal void CountCall(string route, int status)
    {
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        lock (_gate)
        {
            _calls[route] = _calls.GetValueOrDefault(route) + 1;
            _statuses[code] = _statuses.GetValueOrDefault(code) + 1;
            var key = $"{route} {code}";
            _routeStatuses[key] = _routeStatuses.GetValueOrDefault(key) + 1;
        }
    }

    public SandboxCounters GetCounters()
    {
        lock (_gate)
        {
            return new SandboxCounters(
                new Dictionary<string, long>(_calls),
                new Dictionary<string, long>(_statuses),
                new Dictionary<string, long>(_routeStatuses),
                _accounts.Values.Where(a => a.MaxInFlight > 0).ToDictionary(a => a.Id, a => Volatile.Read(ref a.MaxInFlight)),
                _created, _updated, _archived, _deleted, _created + _updated + _archived + _deleted,
                _faultsInjected, _throttled);
        }
    }

    public void ResetCounters()
    {
        lock (_gate) ResetCountersLocked();
    }

    private void ResetCountersLocked()
    {
        _calls.Clear();
        _statuses.Clear();
        _routeStatuses.Clear();
        _created = _updated = _archived = _deleted = _faultsInjected = _throttled = 0;
        foreach (var account in _accounts.Values) Volatile.Write(ref account.MaxInFlight, 0);
    }

    // ---- Control views of audiences ----

    public IReadOnlyList<SandboxListSummary> GetListSummaries(string? accountId = null)
    {
        lock (_gate)
        {
            return _audiences.Values
                .Where(a => accountId is null || a.AccountId == accountId)
                .OrderBy(a => a.CreatedAt)
                .Select(a => new SandboxListSummary(a.Id, a.AccountId, a.Settings.Name,
                    a.Members.Values.Count(m => m.Status == "subscribed"),
                    a.Members.Values.Count(m => m.Status != "archived")))
                .ToList();
        }
    }

    /// <summary>Every member of an audience, archived ones included; null when the audience does not exist.</summary>
    public IReadOnlyList<SandboxMember>? GetMembersDirect(string listId)
    {
        lock (_gate)
        {
            if (!_audiences.TryGetValue(listId, out var audience)) return null;
            return audience.Members.Values.OrderBy(m => m.Email, StringComparer.Ordinal).Select(ToControlView).ToList();
        }
    }

    /// <summary>
    /// Sets a member's status as if it happened inside Mailchimp (a person unsubscribing, an address
    /// bouncing). Adds the member when absent, as a sign-up through a Mailchimp form would. A status that
    /// changes fires the list webhooks' event for it (<see cref="FireMemberChangeLocked"/>) as the person's own (source user).
    /// </summary>
    public SandboxMember? SetMemberStatusDirect(string listId, string emailOrHash, string status) =>
        SetMemberStatusDirect(listId, emailOrHash, status, new ChangeOrigin(WebhookSourceNames.User));

    /// <summary>The same, made by <paramref name="origin"/> (the person or an admin, with a reason and campaign).</summary>
    internal SandboxMember? SetMemberStatusDirect(string listId, string emailOrHash, string status, ChangeOrigin origin)
    {
        lock (_gate)
        {
            if (!TryFindDirect(listId, emailOrHash, out var audience, out var member)) return null;
            if (member is null && !emailOrHash.Contains('@')) return null;
            var before = MemberBefore.Of(audience, member);
            member ??= NewMember(audience, Ids.SubscriberHash(emailOrHash), emailOrHash.Trim(), status);
            member.Status = status;
            member.LastChanged = _time.GetUtcNow();
            FireMemberChangeLocked(audience, before, member, origin);
            return ToControlView(member);
        }
    }

    private static SandboxMember ToControlView(Member m) =>
        new(m.Email, m.Hash, m.Status, new Dictionary<string, JsonNode?>(m.MergeFields.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))), m.Tags.ToList());
}
