using System.Collections.Concurrent;
using System.Text;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// A Lua script kept as an embedded <c>.lua</c> file in a <c>Lua</c> folder beside the code that runs it, e.g.
/// <c>Hub.Core/Jobs/Lua/claim.lua</c>, loaded as <c>RedisScript.Load("Jobs", "claim")</c>. The file opens with a header:
/// <code>
/// -- What the script does.
/// -- KEYS: job, queue
/// -- ARGV: id, now, ...errors
/// -- INCLUDE: Jobs/job_record
/// </code>
/// Each named key and argument becomes a Lua local (<c>local job = KEYS[1]</c>), so the body reads by name; a last
/// argument (or key) written <c>...name</c> stands for the variadic rest and becomes <c>local name_at</c>, the index of
/// its first value in ARGV (or KEYS). An <c>INCLUDE</c> line puts a fragment's shared local functions (a <c>.lua</c> file without a header) before
/// the body. Callers pass keys and arguments in the header's order; the counts are checked on every call.
/// Every key a script touches comes in KEYS, so the scripts run the same on Redis, Garnet and (later) a cluster.
/// </summary>
public sealed class RedisScript
{
    private static readonly ConcurrentDictionary<string, RedisScript> Loaded = new(StringComparer.Ordinal);

    private RedisScript(string name, string text, IReadOnlyList<string> keys, bool variadicKeys, IReadOnlyList<string> arguments, bool variadic)
    {
        Name = name;
        Text = text;
        Keys = keys;
        VariadicKeys = variadicKeys;
        Arguments = arguments;
        Variadic = variadic;
    }

    /// <summary><c>Folder/name</c>, e.g. <c>Jobs/claim</c>.</summary>
    public string Name { get; }

    /// <summary>The script as sent: the locals for its names, its fragments, then its body.</summary>
    public string Text { get; }

    /// <summary>The named keys (without the variadic rest).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Whether the keys end in a variadic rest.</summary>
    public bool VariadicKeys { get; }

    /// <summary>The named arguments (without the variadic rest).</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Whether the arguments end in a variadic rest.</summary>
    public bool Variadic { get; }

    /// <summary>The script <c>Hub.Core/{folder}/Lua/{name}.lua</c>, read once per process.</summary>
    public static RedisScript Load(string folder, string name) =>
        Loaded.GetOrAdd($"{folder}/{name}", static path => Parse(path, Read(path)));

    public Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, params RedisValue[] arguments)
    {
        if ((VariadicKeys ? keys.Length < Keys.Count : keys.Length != Keys.Count)
            || (Variadic ? arguments.Length < Arguments.Count : arguments.Length != Arguments.Count))
        {
            throw new ArgumentException(
                $"Script {Name} takes {(VariadicKeys ? "at least " : "")}{Keys.Count} keys and {(Variadic ? "at least " : "")}{Arguments.Count} arguments; it was given {keys.Length} and {arguments.Length}.");
        }

        return database.ScriptEvaluateAsync(Text, keys, arguments);
    }

    internal static RedisScript Parse(string name, string source)
    {
        var keys = new List<string>();
        var arguments = new List<string>();
        string? keysRest = null;
        string? rest = null;
        var fragments = new StringBuilder();
        foreach (var line in source.Split('\n').Select(line => line.TrimEnd('\r')).TakeWhile(line => line.StartsWith("--", StringComparison.Ordinal)))
        {
            if (Header(line, "KEYS:") is { } keyNames)
            {
                keysRest = Names(keyNames, keys);
            }
            else if (Header(line, "ARGV:") is { } argumentNames)
            {
                rest = Names(argumentNames, arguments);
            }
            else if (Header(line, "INCLUDE:") is { } includes)
            {
                foreach (var include in includes)
                {
                    fragments.Append(Read(include)).Append('\n');
                }
            }
        }

        var text = new StringBuilder();
        for (var i = 0; i < keys.Count; i++)
        {
            text.Append("local ").Append(keys[i]).Append(" = KEYS[").Append(i + 1).Append("]\n");
        }

        for (var i = 0; i < arguments.Count; i++)
        {
            text.Append("local ").Append(arguments[i]).Append(" = ARGV[").Append(i + 1).Append("]\n");
        }

        if (keysRest is not null)
        {
            text.Append("local ").Append(keysRest).Append("_at = ").Append(keys.Count + 1).Append('\n');
        }

        if (rest is not null)
        {
            text.Append("local ").Append(rest).Append("_at = ").Append(arguments.Count + 1).Append('\n');
        }

        text.Append(fragments).Append(source);
        return new RedisScript(name, text.ToString(), keys, keysRest is not null, arguments, rest is not null);

        // Adds the names to the list and answers the variadic rest's name, if the last one is one.
        string? Names(string[] names, List<string> named)
        {
            string? variadic = null;
            foreach (var item in names)
            {
                if (variadic is not null)
                {
                    throw new InvalidOperationException($"Script {name}: the variadic ...{variadic} must come last.");
                }

                if (item.StartsWith("...", StringComparison.Ordinal))
                {
                    variadic = item[3..];
                }
                else
                {
                    named.Add(item);
                }
            }

            return variadic;
        }

        static string[]? Header(string line, string label)
        {
            var content = line[2..].Trim();
            return content.StartsWith(label, StringComparison.Ordinal)
                ? content[label.Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : null;
        }
    }

    private static string Read(string path)
    {
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var resource = $"Hub.Core.{path[..slash]}.Lua.{path[(slash + 1)..]}.lua";
        using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"No embedded Lua script {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
