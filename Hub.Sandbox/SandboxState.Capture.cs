using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>One marketing API request as the sandbox received it (capture mode).</summary>
/// <param name="Sequence">Its number since the sandbox started (increasing).</param>
/// <param name="At">When it arrived.</param>
/// <param name="Method">GET, POST, PUT, PATCH or DELETE.</param>
/// <param name="Path">The path below the API base <c>/{dc}/3.0</c>, e.g. <c>/lists/abc/members/0f1e…</c>.</param>
/// <param name="Route">The matched route template, e.g. <c>/lists/{list_id}/members/{subscriber_hash}</c>.</param>
/// <param name="Query">The query parameter names, in the order sent.</param>
/// <param name="Body">The JSON body, or null when there was none; see BodyText.</param>
/// <param name="BodyText">A body that did not parse as JSON, as text.</param>
public sealed record CapturedRequest(
    long Sequence, DateTimeOffset At, string Method, string Path, string Route, IReadOnlyList<string> Query, JsonNode? Body, string? BodyText = null);

public sealed partial class SandboxState
{
    private readonly Lock _captureGate = new();
    private readonly Queue<CapturedRequest> _captured = new();
    private long _captureSequence;
    private volatile bool _capturing;
    private volatile bool _strict;

    /// <summary>Whether marketing API requests are being recorded.</summary>
    public bool CaptureRequests
    {
        get => _capturing;
        set => _capturing = value;
    }

    /// <summary>Strict mode (see <see cref="SandboxOptions.StrictRequestBodies"/>).</summary>
    public bool StrictRequestBodies
    {
        get => _strict;
        set => _strict = value;
    }

    internal void Capture(string method, string path, string route, IReadOnlyList<string> query, JsonNode? body, string? bodyText)
    {
        lock (_captureGate)
        {
            _captured.Enqueue(new CapturedRequest(++_captureSequence, _time.GetUtcNow(), method, path, route, query, body, bodyText));
            while (_captured.Count > Math.Max(1, _options.CaptureLimit)) _captured.Dequeue();
        }
    }

    /// <summary>The captured requests, oldest first.</summary>
    public IReadOnlyList<CapturedRequest> GetCapturedRequests()
    {
        lock (_captureGate) return [.. _captured];
    }

    public void ClearCapturedRequests()
    {
        lock (_captureGate) _captured.Clear();
    }

    private void ResetCapture()
    {
        _capturing = _options.CaptureRequests;
        ClearCapturedRequests();
    }
}
