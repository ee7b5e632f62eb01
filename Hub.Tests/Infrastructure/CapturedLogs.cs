using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// Collects every log line a host writes (formatted message, state values and exception), for leak checks. With
/// <paramref name="includeScopes"/> also the scope values, as a provider that shows scopes would; Hub's own export leaves
/// scopes out (ASP.NET Core's request scope holds the path).
/// </summary>
public sealed class CapturedLogs(bool includeScopes = false) : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join(Environment.NewLine, _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines, () => _scopes);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = includeScopes ? scopeProvider : null;

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines, Func<IExternalScopeProvider?> scopes) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => scopes()?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = Values(state);
            scopes()?.ForEachScope((scope, _) => values += " " + Values(scope), (object?)null);
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
        }

        private static string Values(object? state) =>
            state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(pair => $"{pair.Key}={pair.Value}"))
            : state is IEnumerable<KeyValuePair<string, object>> objects ? string.Join(" ", objects.Select(pair => $"{pair.Key}={pair.Value}"))
            : "";
    }
}
