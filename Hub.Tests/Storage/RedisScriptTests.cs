using System.Text.RegularExpressions;
using Hub.Core.Storage;
using Hub.Tests.Infrastructure;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>The Lua loader: named keys and arguments, a variadic rest, fragments, checked counts; every embedded script compiles on a real Redis.</summary>
public sealed partial class RedisScriptTests
{
    [Test]
    public async Task Names_from_the_header_become_locals_and_the_rest_starts_after_them()
    {
        var script = RedisScript.Parse("Tests/sum", """
            -- Adds the rest to a counter, by name.
            -- KEYS: counter
            -- ARGV: label, ...amounts
            local total = 0
            for i = amounts_at, #ARGV do total = total + tonumber(ARGV[i]) end
            redis.call('HINCRBY', counter, label, total)
            return redis.call('HGET', counter, label)
            """);
        var redis = await TestRedis.ConnectAsync();
        RedisKey key = TestRedis.NewPrefix() + "counter";

        var result = await script.EvaluateAsync(redis.GetDatabase(), [key], "apples", 2, 3, 4);

        Assert.Multiple(() =>
        {
            Assert.That((string?)result, Is.EqualTo("9"));
            Assert.That(script.Keys, Is.EqualTo(new[] { "counter" }));
            Assert.That(script.Arguments, Is.EqualTo(new[] { "label" }));
            Assert.That(script.Variadic, Is.True);
        });
        await redis.GetDatabase().KeyDeleteAsync(key);
    }

    [Test]
    public void A_call_with_the_wrong_number_of_keys_or_arguments_is_refused_before_it_is_sent()
    {
        var script = RedisScript.Parse("Tests/pair", "-- KEYS: a, b\n-- ARGV: x\nreturn 1\n");
        var db = (IDatabaseAsync)null!;
        Assert.Multiple(() =>
        {
            Assert.That(() => script.EvaluateAsync(db, ["a"], "x"), Throws.ArgumentException.With.Message.Contains("takes 2 keys"));
            Assert.That(() => script.EvaluateAsync(db, ["a", "b"], "x", "y"), Throws.ArgumentException);
            Assert.That(() => script.EvaluateAsync(db, ["a", "b"]), Throws.ArgumentException);
        });
    }

    [Test]
    public async Task Every_embedded_script_has_a_header_of_valid_names_and_compiles_on_redis()
    {
        var assembly = typeof(RedisScript).Assembly;
        var scripts = assembly.GetManifestResourceNames().Where(name => name.EndsWith(".lua", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.That(scripts, Is.Not.Empty);
        var redis = await TestRedis.ConnectAsync();
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        foreach (var resource in scripts)
        {
            // Hub.Core.<Folder>.Lua.<name>.lua
            var match = ResourceName().Match(resource);
            Assert.That(match.Success, resource);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            var source = await reader.ReadToEndAsync();
            if (!source.Contains("-- KEYS:", StringComparison.Ordinal))
            {
                continue; // a fragment: compiled with the scripts that include it
            }

            var script = RedisScript.Load(match.Groups["folder"].Value, match.Groups["name"].Value);
            Assert.That(source.Split('\n')[0], Does.StartWith("-- ").And.Not.StartWith("-- KEYS"), $"{resource} opens with what it does");
            Assert.That(script.Keys.Concat(script.Arguments), Has.All.Matches(LuaName()), resource);
            Assert.That(async () => await server.ScriptLoadAsync(script.Text), Throws.Nothing, resource);
        }
    }

    [GeneratedRegex(@"^Hub\.Core\.(?<folder>\w+)\.Lua\.(?<name>\w+)\.lua$")]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"^[a-z_][a-z0-9_]*$", RegexOptions.IgnoreCase)]
    private static partial Regex LuaName();
}
