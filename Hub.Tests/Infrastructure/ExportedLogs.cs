using System.Collections.Concurrent;
using OpenTelemetry;
using OpenTelemetry.Logs;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// The log records a host hands its OpenTelemetry exporter (OTLP in production), each copied as it would leave Hub: the
/// category, the message (its template, as exported) and the attributes, after Hub's own processors. Log scopes are not
/// part of a record.
/// </summary>
public sealed class ExportedLogs : BaseExporter<LogRecord>
{
    private readonly ConcurrentQueue<ExportedLog> _records = new();

    public IReadOnlyCollection<ExportedLog> Records => _records;

    public override ExportResult Export(in Batch<LogRecord> batch)
    {
        foreach (var record in batch)
        {
            // Records are pooled and reused once exported: keep a copy.
            _records.Enqueue(new ExportedLog(
                record.CategoryName ?? "",
                record.FormattedMessage ?? record.Body ?? "",
                (record.Attributes ?? []).Select(attribute => new KeyValuePair<string, string?>(attribute.Key, attribute.Value?.ToString())).ToList()));
        }

        return ExportResult.Success;
    }
}

/// <summary>One exported log record.</summary>
public sealed record ExportedLog(string Category, string Message, IReadOnlyList<KeyValuePair<string, string?>> Attributes)
{
    /// <summary>The value of the attribute <paramref name="key"/>, or null.</summary>
    public string? this[string key] => Attributes.FirstOrDefault(attribute => attribute.Key == key).Value;

    public override string ToString() => $"{Category}: {Message} [{string.Join(", ", Attributes.Select(attribute => $"{attribute.Key}={attribute.Value}"))}]";
}
