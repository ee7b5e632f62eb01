using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hub.Bench;

/// <summary>
/// Shared setup for the benchmarks: a sandbox process, Hub replicas configured against it (a fresh Redis key
/// prefix per run), and a tenant connected with a sandbox API key.
/// </summary>
public sealed class BenchEnvironment : IAsyncDisposable
{
    private readonly List<BenchProcess> _hubs = [];

    private BenchEnvironment(BenchProcess sandbox, Dictionary<string, string> hubEnvironment)
    {
        Sandbox = sandbox;
        HubEnvironment = hubEnvironment;
        SandboxClient = new HttpClient { BaseAddress = sandbox.BaseUrl, Timeout = TimeSpan.FromMinutes(5) };
    }

    public static string RedisConnection => Environment.GetEnvironmentVariable("HUB_BENCH_REDIS") is { Length: > 0 } redis ? redis : "127.0.0.1:6379";

    public BenchProcess Sandbox { get; }
    public HttpClient SandboxClient { get; }
    public Dictionary<string, string> HubEnvironment { get; }
    public string AdminKey { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    public string KeyPrefix { get; } = $"bench:{Guid.NewGuid():N}:";
    public IReadOnlyList<BenchProcess> Hubs => _hubs;

    /// <summary>The tenant's API key for Hub (set by <see cref="CreateTenantAsync"/>).</summary>
    public string? TenantKey { get; private set; }

    public string SandboxAccountId { get; private set; } = "";
    public string SandboxApiKey { get; private set; } = "";

    public static async Task<BenchEnvironment> StartAsync(IDictionary<string, string>? hubSettings = null)
    {
        var sandbox = await BenchProcess.StartSandboxAsync();
        var environment = new BenchEnvironment(sandbox, []);
        var env = environment.HubEnvironment;
        env["Hub__Redis__ConnectionString"] = RedisConnection;
        env["Hub__Redis__KeyPrefix"] = environment.KeyPrefix;
        env["Hub__Admin__ApiKey"] = environment.AdminKey;
        env["Hub__Encryption__Keys__k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        env["Hub__Encryption__ActiveKeyId"] = "k1";
        env["Hub__Mailchimp__ApiBaseTemplate"] = $"http://127.0.0.1:{sandbox.BaseUrl.Port}/{{dc}}/3.0";
        env["Hub__RateLimit__PermitsPerSecond"] = "100000";
        env["Hub__RateLimit__Burst"] = "100000";
        env["Hub__Jobs__PollInterval"] = "00:00:00.200";
        foreach (var (key, value) in hubSettings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        return environment;
    }

    public async Task<BenchProcess> StartHubAsync()
    {
        var hub = await BenchProcess.StartHubAsync(HubEnvironment);
        _hubs.Add(hub);
        return hub;
    }

    /// <summary>An HTTP client for a replica, authenticated as the tenant (<paramref name="tenantKey"/>, or the one <see cref="CreateTenantAsync"/> made).</summary>
    public HttpClient TenantClient(BenchProcess hub, string? tenantKey = null)
    {
        var client = new HttpClient { BaseAddress = hub.BaseUrl, Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenantKey ?? TenantKey);
        return client;
    }

    /// <summary>
    /// Creates a tenant (Hub's webhooks to <paramref name="webhookUrl"/> when given) and its key on <paramref name="hub"/>,
    /// and connects it to the sandbox's default account with a fresh API key.
    /// </summary>
    public async Task CreateTenantAsync(BenchProcess hub, string? webhookUrl = null)
    {
        var accounts = (await ReadJsonAsync(await SandboxClient.GetAsync("/_control/accounts"))).AsArray();
        SandboxAccountId = accounts[0]!["id"]!.GetValue<string>();
        (TenantKey, SandboxApiKey) = await CreateConnectedTenantAsync(hub, SandboxAccountId, "Bench Shop", webhookUrl);
    }

    /// <summary>
    /// A new sandbox account of its own (its own Mailchimp limits), with a tenant connected to it (Hub's webhooks to
    /// <paramref name="webhookUrl"/> when given); returns the tenant's key.
    /// </summary>
    public async Task<string> CreateTenantWithAccountAsync(BenchProcess hub, string name, string? webhookUrl = null)
    {
        var account = await ReadJsonAsync(await SandboxClient.PostAsJsonAsync("/_control/accounts", new { name, dc = "us21" }));
        return (await CreateConnectedTenantAsync(hub, account["id"]!.GetValue<string>(), name, webhookUrl)).TenantKey;
    }

    private async Task<(string TenantKey, string ApiKey)> CreateConnectedTenantAsync(BenchProcess hub, string accountId, string name, string? webhookUrl)
    {
        using var admin = new HttpClient { BaseAddress = hub.BaseUrl };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        var created = await ReadJsonAsync(await admin.PostAsJsonAsync("/api/admin/tenants", new
        {
            name,
            webhookUrl,
            defaultPermissionReminder = $"You signed up at {name}.",
            defaultContact = new { company = name, address1 = "1 Main St", city = "Utrecht", country = "NL" },
            defaultCampaignDefaults = new { fromName = name, fromEmail = "news@bench-shop.test", subject = "News", language = "en" },
        }));
        var tenantId = created["tenant"]!["id"]!.GetValue<string>();
        var tenantKey = (await ReadJsonAsync(await admin.PostAsJsonAsync($"/api/admin/tenants/{tenantId}/keys", new { name = "bench" })))["key"]!.GetValue<string>();
        var apiKey = (await ReadJsonAsync(await SandboxClient.PostAsync($"/_control/accounts/{accountId}/api-keys", null)))["api_key"]!.GetValue<string>();
        using var tenant = TenantClient(hub, tenantKey);
        await ReadJsonAsync(await tenant.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey }));
        return (tenantKey, apiKey);
    }

    /// <summary>
    /// Links a list backed by a new audience; returns the audience id. With <c>HUB_BENCH_EXTERNAL_IDS=1</c> the list declares
    /// the three fields its members carry (FNAME and LNAME, which the audience has; COMPANY, which Hub creates), so every
    /// value is checked against its type.
    /// </summary>
    public async Task<string> CreateListAsync(BenchProcess hub, string key, string? tenantKey = null)
    {
        using var tenant = TenantClient(hub, tenantKey);
        object[]? fields = NdjsonMembersStream.WithExternalIds
            ? [new { tag = "FNAME", name = "First Name", type = "text" }, new { tag = "LNAME", name = "Last Name", type = "text" }, new { tag = "COMPANY", name = "Company", type = "text" }]
            : null;
        var list = await ReadJsonAsync(await tenant.PostAsJsonAsync("/api/v1/lists", new { key, newAudience = new { name = $"Bench {key}" }, fields }));
        return list["audienceId"]!.GetValue<string>();
    }

    public async Task SetLatencyAsync(int perCallMs, int perMemberMs) =>
        (await SandboxClient.PutAsJsonAsync("/_control/latency", new { per_call_ms = perCallMs, per_member_ms = perMemberMs })).EnsureSuccessStatusCode();

    /// <summary>Makes the sandbox answer <paramref name="kind"/> ("429", "500" or "hang") to a share of the calls to <paramref name="route"/> ("*" for all).</summary>
    public async Task AddFaultAsync(string route, string kind, double share) =>
        (await SandboxClient.PostAsJsonAsync("/_control/faults", new { route, kind, share })).EnsureSuccessStatusCode();

    public async Task ResetCountersAsync() => (await SandboxClient.PostAsync("/_control/counters/reset", null)).EnsureSuccessStatusCode();

    public async Task<SandboxCounters> CountersAsync()
    {
        var counters = await ReadJsonAsync(await SandboxClient.GetAsync("/_control/counters"));
        var maxConcurrent = counters["max_concurrent"]?.AsObject().Select(pair => pair.Value!.GetValue<int>()).DefaultIfEmpty(0).Max() ?? 0;
        var calls = counters["calls"]!.AsObject().ToDictionary(pair => pair.Key, pair => pair.Value!.GetValue<long>());
        return new SandboxCounters(counters["members_written"]!.GetValue<long>(), counters["members_created"]!.GetValue<long>(),
            counters["members_updated"]!.GetValue<long>(), maxConcurrent, calls, counters["throttled"]!.GetValue<long>(), counters["faults_injected"]!.GetValue<long>());
    }

    /// <summary>The subscribed members of an audience (emails, lower-cased), read from the sandbox's control API.</summary>
    public async Task<HashSet<string>> SubscribedEmailsAsync(string audienceId)
    {
        using var response = await SandboxClient.GetAsync($"/_control/lists/{audienceId}/members", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var emails = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var member in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream))
        {
            if (member.GetProperty("status").GetString() == "subscribed")
            {
                emails.Add(member.GetProperty("email_address").GetString()!.ToLowerInvariant());
            }
        }

        return emails;
    }

    public async Task<JsonNode> GetJobAsync(HttpClient tenant, string jobId) => await ReadJsonAsync(await tenant.GetAsync($"/api/v1/jobs/{jobId}"));

    /// <summary>Polls a job until it is finished; returns its last view.</summary>
    public async Task<JsonNode> WaitForJobAsync(Func<HttpClient> tenant, string jobId, TimeSpan timeout, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = tenant();
                var job = await GetJobAsync(client, jobId);
                var state = job["state"]!.GetValue<string>();
                if (state is not ("queued" or "running"))
                {
                    return job;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A replica going away or not answering (its client's timeout); the caller's factory picks a live one next time.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Job {jobId} did not finish within {timeout}.");
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>The benchmark Redis's <c>used_memory</c> (bytes, from <c>INFO memory</c> through redis-cli).</summary>
    public static async Task<long> RedisUsedMemoryAsync() =>
        long.Parse(await RedisInfoAsync("memory", "used_memory") ?? throw new InvalidOperationException("INFO memory has no used_memory."),
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// CPU time (user + system) the benchmark's redis-server has used so far, in seconds, from /proc of the process INFO names;
    /// NaN when that is not a redis-server on this machine. Redis shares the cores with Hub and the sandbox.
    /// </summary>
    public static async Task<double> RedisCpuSecondsAsync()
    {
        if (await RedisInfoAsync("server", "process_id") is not { } pid)
        {
            return double.NaN; // not a redis-server (a proxy, Garnet)
        }

        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").StartsWith("redis-server", StringComparison.Ordinal)
                ? Ticks(File.ReadAllText($"/proc/{pid}/stat")) / 100.0
                : double.NaN;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>One field of <c>INFO section</c> of the benchmark Redis, through redis-cli; null when INFO has no such field.</summary>
    private static async Task<string?> RedisInfoAsync(string section, string field)
    {
        var (host, port) = (RedisConnection[..RedisConnection.LastIndexOf(':')], RedisConnection[(RedisConnection.LastIndexOf(':') + 1)..]);
        var start = new System.Diagnostics.ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-h", host, "-p", port, "INFO", section })
        {
            start.ArgumentList.Add(argument);
        }

        using var cli = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-cli.");
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        var line = output.Split('\n').Select(text => text.Trim()).FirstOrDefault(text => text.StartsWith(field + ":", StringComparison.Ordinal));
        return line?[(field.Length + 1)..];
    }

    /// <summary>CPU time (user + system) a process has used so far, in seconds, from /proc/{pid}/stat.</summary>
    public static double CpuSeconds(BenchProcess process) => Ticks(File.ReadAllText($"/proc/{process.Id}/stat")) / 100.0;

    /// <summary>CPU seconds (user + system) of the process's threads called <paramref name="threadName"/>; Linux keeps the first 15 characters of a thread's name.</summary>
    public static double ThreadCpuSeconds(BenchProcess process, string threadName)
    {
        var ticks = 0L;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{process.Id}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            if (stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')] == threadName)
            {
                ticks += Ticks(stat);
            }
        }

        return ticks / 100.0;
    }

    /// <summary>The runtime's background compiler (tiered compilation) of a .NET process, as Linux names the thread.</summary>
    public const string JitThread = ".NET Tiered Com";

    /// <summary>
    /// Waits until the runtime has compiled what a warm-up made hot: its background compiler used less than 20 ms of CPU
    /// in each of 2 seconds in a row (at most <paramref name="limit"/>). Returns how long that took.
    /// </summary>
    public static async Task<TimeSpan> WaitForJitToSettleAsync(BenchProcess process, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = ThreadCpuSeconds(process, JitThread);
        var quietSeconds = 0;
        while (quietSeconds < 2 && clock.Elapsed < limit)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = ThreadCpuSeconds(process, JitThread);
            quietSeconds = now - before < 0.02 ? quietSeconds + 1 : 0;
            before = now;
        }

        return clock.Elapsed;
    }

    // After the command name: state is field 3, utime 14 and stime 15 (1-based), in clock ticks (100 per second).
    private static long Ticks(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {body}", null, response.StatusCode);
            }

            return JsonNode.Parse(body) ?? throw new InvalidOperationException("Empty JSON answer.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            await hub.DisposeAsync();
        }

        SandboxClient.Dispose();
        await Sandbox.DisposeAsync();
    }
}

/// <summary>The sandbox counters the benchmarks read.</summary>
public sealed record SandboxCounters(long MembersWritten, long MembersCreated, long MembersUpdated, int MaxConcurrent, IReadOnlyDictionary<string, long> Calls, long Throttled, long FaultsInjected)
{
    public long CallsTo(string route) => Calls.TryGetValue(route, out var count) ? count : 0;
}

/// <summary>
/// A request body that generates NDJSON members on the fly (never held in memory): member i is
/// <c>{"email":"m{i}@bench.test","mergeFields":{"FNAME":"First{i}","LNAME":"Last{i}"}}</c>. With
/// <c>HUB_BENCH_EXTERNAL_IDS=1</c> each member also carries <c>"externalId":"crm-{i}"</c> and a third merge field,
/// <c>COMPANY</c>, all three declared by the list (issue 15's first-sync figure).
/// </summary>
public sealed class NdjsonMembersStream(int count, string domain = "bench.test") : Stream
{
    private int _next;
    private byte[] _line = [];
    private int _linePosition;

    public static string Email(int i, string domain = "bench.test") => $"m{i:D7}@{domain}";

    /// <summary>Whether members carry an <c>externalId</c> and a third merge field (<c>HUB_BENCH_EXTERNAL_IDS=1</c>).</summary>
    public static bool WithExternalIds => Environment.GetEnvironmentVariable("HUB_BENCH_EXTERNAL_IDS") == "1";

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length)
        {
            if (_linePosition == _line.Length)
            {
                if (_next == count)
                {
                    break;
                }

                _line = System.Text.Encoding.UTF8.GetBytes(WithExternalIds
                    ? $"{{\"email\":\"{Email(_next, domain)}\",\"externalId\":\"crm-{_next}\",\"mergeFields\":{{\"FNAME\":\"First{_next}\",\"LNAME\":\"Last{_next}\",\"COMPANY\":\"Company {_next % 1000}\"}}}}\n"
                    : $"{{\"email\":\"{Email(_next, domain)}\",\"mergeFields\":{{\"FNAME\":\"First{_next}\",\"LNAME\":\"Last{_next}\"}}}}\n");
                _linePosition = 0;
                _next++;
            }

            var take = Math.Min(_line.Length - _linePosition, buffer.Length - written);
            _line.AsSpan(_linePosition, take).CopyTo(buffer[written..]);
            _linePosition += take;
            written += take;
        }

        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Content for <see cref="HttpClient"/>: streamed, chunked (no Content-Length).</summary>
    public static HttpContent Content(int count, string domain = "bench.test")
    {
        var content = new StreamContent(new NdjsonMembersStream(count, domain), 64 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        return content;
    }
}
