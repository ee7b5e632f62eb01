using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hub.Core.Members;

/// <summary>
/// A member's merge field values by tag, in ordinal tag order: the order <see cref="DesiredMember.Fingerprint()"/> hashes them
/// in (the serializer's own would compare by culture, which orders tags with underscores differently). Two arrays, read-only
/// once built: a sync holds one per member it plans, and a sorted tree of nodes was 13 % of what Hub allocated in a
/// fleet of first syncs (2026-12-04). A member has a handful of fields, so a lookup is a binary search.
/// </summary>
[JsonConverter(typeof(MergeFieldsConverter))]
public sealed class MergeFieldValues : IReadOnlyDictionary<string, JsonElement>
{
    private readonly string[] _tags;
    private readonly JsonElement[] _values;

    private MergeFieldValues(string[] tags, JsonElement[] values)
    {
        _tags = tags;
        _values = values;
    }

    /// <summary>The fields in <paramref name="fields"/>, sorted by ordinal tag order; of a tag given twice, the last one wins.</summary>
    public static MergeFieldValues From(IReadOnlyCollection<KeyValuePair<string, JsonElement>> fields)
    {
        var builder = new Builder(fields.Count);
        foreach (var (tag, value) in fields)
        {
            builder.Add(tag, value);
        }

        return builder.Build();
    }

    /// <summary>
    /// Collects fields into tag order as they come (insertion into sorted arrays: a member has a handful). Build once and drop
    /// it: the built set may share its arrays.
    /// </summary>
    internal struct Builder(int capacity)
    {
        private string[] _tags = new string[capacity];
        private JsonElement[] _values = new JsonElement[capacity];
        private int _count;

        /// <summary>Adds a field; one whose tag is already here replaces its value.</summary>
        public void Add(string tag, JsonElement value)
        {
            var at = Array.BinarySearch(_tags, 0, _count, tag, StringComparer.Ordinal);
            if (at >= 0)
            {
                _values[at] = value;
                return;
            }

            if (_count == _tags.Length)
            {
                Array.Resize(ref _tags, Math.Max(4, _count * 2));
                Array.Resize(ref _values, _tags.Length);
            }

            at = ~at;
            Array.Copy(_tags, at, _tags, at + 1, _count - at);
            Array.Copy(_values, at, _values, at + 1, _count - at);
            _tags[at] = tag;
            _values[at] = value;
            _count++;
        }

        public readonly int Count => _count;

        public MergeFieldValues Build()
        {
            if (_count < _tags.Length)
            {
                Array.Resize(ref _tags, _count);
                Array.Resize(ref _values, _count);
            }

            return new MergeFieldValues(_tags, _values);
        }
    }

    public int Count => _tags.Length;

    public IEnumerable<string> Keys => Array.AsReadOnly(_tags);

    public IEnumerable<JsonElement> Values => Array.AsReadOnly(_values);

    public JsonElement this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No merge field '{key}'.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out JsonElement value)
    {
        var at = Array.BinarySearch(_tags, key, StringComparer.Ordinal);
        value = at >= 0 ? _values[at] : default;
        return at >= 0;
    }

    /// <summary>A struct enumerator, so a <c>foreach</c> over the fields allocates nothing.</summary>
    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, JsonElement>> IEnumerable<KeyValuePair<string, JsonElement>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public struct Enumerator(MergeFieldValues fields) : IEnumerator<KeyValuePair<string, JsonElement>>
    {
        private int _at = -1;

        public readonly KeyValuePair<string, JsonElement> Current => new(fields._tags[_at], fields._values[_at]);

        readonly object IEnumerator.Current => Current;

        public bool MoveNext() => ++_at < fields._tags.Length;

        public void Reset() => _at = -1;

        public readonly void Dispose()
        {
        }
    }
}

/// <summary>
/// Reads a member's merge fields, with every value in one parsed copy of the object instead of one per value, and writes them
/// in ordinal tag order.
/// </summary>
internal sealed class MergeFieldsConverter : JsonConverter<MergeFieldValues>
{
    public override MergeFieldValues Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReadSorted(ref reader);

    /// <summary>Reads the object the reader is at (its start) into tags sorted by ordinal order, the values in one parsed copy.</summary>
    public static MergeFieldValues ReadSorted(ref Utf8JsonReader reader)
    {
        var fields = JsonElement.ParseValue(ref reader);
        if (fields.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("mergeFields must be an object.");
        }

        var sorted = new MergeFieldValues.Builder(fields.GetPropertyCount());
        foreach (var field in fields.EnumerateObject())
        {
            sorted.Add(field.Name, field.Value);
        }

        return sorted.Build();
    }

    public override void Write(Utf8JsonWriter writer, MergeFieldValues value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (tag, field) in value)
        {
            writer.WritePropertyName(tag);
            field.WriteTo(writer);
        }

        writer.WriteEndObject();
    }
}
