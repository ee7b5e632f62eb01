using System.Security.Cryptography;
using System.Text;
using Hub.Core.Mailchimp;

namespace Hub.Tests.Mailchimp;

/// <summary>The subscriber hash is Mailchimp's name for a contact: the managed MD5 behind it must agree with the platform's everywhere.</summary>
public class SubscriberHashTests
{
    [TestCase("", "d41d8cd98f00b204e9800998ecf8427e")] // RFC 1321 §A.5 test suite
    [TestCase("a", "0cc175b9c0f1b6a831c399e269772661")]
    [TestCase("abc", "900150983cd24fb0d6963f7d28e17f72")]
    [TestCase("message digest", "f96b697d7cb7938d525a2f31aaf161d0")]
    [TestCase("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b")]
    [TestCase("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a")]
    public void Md5_gives_the_rfc_test_suite_digests(string input, string expected)
    {
        Span<byte> hash = stackalloc byte[Md5.HashSizeInBytes];
        Md5.HashData(Encoding.ASCII.GetBytes(input), hash);
        Assert.That(Convert.ToHexStringLower(hash), Is.EqualTo(expected));
    }

    [Test]
    public void Md5_agrees_with_the_platform_for_every_length_across_block_boundaries()
    {
        var random = new Random(16);
        Span<byte> hash = stackalloc byte[Md5.HashSizeInBytes];
        for (var length = 0; length <= 300; length++)
        {
            var input = new byte[length];
            random.NextBytes(input);
            Md5.HashData(input, hash);
            Assert.That(hash.ToArray(), Is.EqualTo(MD5.HashData(input)), $"{length} bytes");
        }
    }

    [TestCase("ann@shop.test")]
    [TestCase("  Ann.Lee+Promo@Shop.TEST \t")]
    [TestCase("İstanbul.Öz@Örnek.test")]
    [TestCase("josé@exämple.test")]
    public void An_address_hashes_as_md5_of_its_trimmed_lower_cased_utf8(string email)
    {
        var expected = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant())));
        Assert.That(SubscriberHash.FromEmail(email).Value, Is.EqualTo(expected));
    }

    [Test]
    public void A_very_long_address_is_hashed_off_the_stack_alike()
    {
        var email = new string('a', 5_000) + "@shop.test";
        Assert.That(SubscriberHash.FromEmail(email).Value, Is.EqualTo(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email)))));
    }
}
