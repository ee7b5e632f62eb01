using System.Security.Cryptography;
using Hub.Core.Security;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Security;

public class SecretProtectorTests
{
    private static SecretProtector Protector(string active, params string[] ids) =>
        new(Options.Create(new EncryptionOptions { ActiveKeyId = active, Keys = ids.ToDictionary(id => id, id => Keys[id]) }));

    private static readonly Dictionary<string, string> Keys = new()
    {
        ["k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["k2"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    [Test]
    public void Round_trip_returns_the_secret_and_never_the_plaintext_in_the_ciphertext()
    {
        var protector = Protector("k1", "k1");
        var ciphertext = protector.Protect(new Secret("token-123456"), "tenant/a/token");

        Assert.Multiple(() =>
        {
            Assert.That(ciphertext, Does.StartWith("enc:v1:k1:"));
            Assert.That(ciphertext, Does.Not.Contain("token-123456"));
            Assert.That(protector.Unprotect(ciphertext, "tenant/a/token").Reveal(), Is.EqualTo("token-123456"));
        });
    }

    [Test]
    public void Same_secret_encrypts_differently_each_time()
    {
        var protector = Protector("k1", "k1");
        var first = protector.Protect(new Secret("s"), "c");
        var second = protector.Protect(new Secret("s"), "c");
        Assert.That(first, Is.Not.EqualTo(second));
    }

    [Test]
    public void Ciphertext_moved_to_another_context_does_not_decrypt()
    {
        var protector = Protector("k1", "k1");
        var ciphertext = protector.Protect(new Secret("secret"), "tenant/a/token");
        Assert.That(() => protector.Unprotect(ciphertext, "tenant/b/token"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Tampered_ciphertext_does_not_decrypt()
    {
        var protector = Protector("k1", "k1");
        var ciphertext = protector.Protect(new Secret("secret"), "c");
        var payload = Convert.FromBase64String(ciphertext["enc:v1:k1:".Length..]);
        payload[^1] ^= 1;
        Assert.That(() => protector.Unprotect("enc:v1:k1:" + Convert.ToBase64String(payload), "c"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void After_rotation_old_ciphertexts_still_decrypt_and_new_ones_use_the_active_key()
    {
        var old = Protector("k1", "k1").Protect(new Secret("before"), "c");
        var rotated = Protector("k2", "k1", "k2");

        Assert.Multiple(() =>
        {
            Assert.That(rotated.Unprotect(old, "c").Reveal(), Is.EqualTo("before"));
            Assert.That(rotated.IsCurrent(old), Is.False);
            Assert.That(rotated.Protect(new Secret("after"), "c"), Does.StartWith("enc:v1:k2:"));
        });
    }

    [Test]
    public void A_ciphertext_whose_key_is_gone_names_the_missing_setting()
    {
        var old = Protector("k1", "k1").Protect(new Secret("before"), "c");
        Assert.That(() => Protector("k2", "k2").Unprotect(old, "c"),
            Throws.InstanceOf<CryptographicException>().With.Message.Contains("Hub:Encryption:Keys:k1"));
    }

    [Test]
    public void Secret_redacts_itself_in_ToString_and_interpolation()
    {
        var secret = new Secret("hub_abc_supersecret");
        Assert.Multiple(() =>
        {
            Assert.That(secret.ToString(), Is.EqualTo("[redacted]"));
            Assert.That($"{secret}", Does.Not.Contain("supersecret"));
        });
    }

    [TestCase(null, "k1", "Hub:Encryption:Keys is empty")]
    [TestCase("not-base64!", "k1", "Hub:Encryption:Keys:k1 must be base64 of exactly 32 bytes")]
    [TestCase("AAAA", "k1", "Hub:Encryption:Keys:k1 must be base64 of exactly 32 bytes")]
    [TestCase("valid", "other", "Hub:Encryption:ActiveKeyId 'other' is not one of Hub:Encryption:Keys")]
    public void Invalid_key_configuration_fails_with_a_message_naming_the_setting(string? key, string active, string expected)
    {
        var options = new EncryptionOptions { ActiveKeyId = active };
        if (key is not null)
        {
            options.Keys["k1"] = key == "valid" ? Keys["k1"] : key;
        }

        var result = new EncryptionOptionsValidator().Validate(null, options);
        Assert.Multiple(() =>
        {
            Assert.That(result.Failed, Is.True);
            Assert.That(result.FailureMessage, Does.Contain(expected));
        });
    }
}
