using System.Security.Cryptography;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Tests.Email;

public sealed class DkimNamesTests
{
    [Theory]
    [InlineData("acme.example")]
    [InlineData("mail.acme.example")]
    [InlineData("xn--bcher-kva.example")]
    [InlineData("a-1.b2.co.uk")]
    public void Domain_names_are_accepted(string domain) => Assert.Null(DkimNames.DomainProblem(DkimNames.Normalize(domain)));

    [Theory]
    [InlineData("")]
    [InlineData("localhost")]
    [InlineData("acme..example")]
    [InlineData("-acme.example")]
    [InlineData("acme-.example")]
    [InlineData("acme.123")]
    [InlineData("acme_x.example")]
    [InlineData("acme example.com")]
    [InlineData("bücher.example")]
    [InlineData("talent@acme.example")]
    public void Bad_domain_names_are_refused(string domain) => Assert.NotNull(DkimNames.DomainProblem(DkimNames.Normalize(domain)));

    [Fact]
    public void Too_long_names_are_refused()
    {
        var label = new string('a', 63);
        Assert.NotNull(DkimNames.DomainProblem(new string('a', 64) + ".example"));
        Assert.NotNull(DkimNames.DomainProblem(string.Join('.', Enumerable.Repeat(label, 4)) + ".example"));
        var domain = string.Join('.', Enumerable.Repeat(label, 3)) + ".ex"; // 194 characters: fits alone
        Assert.Null(DkimNames.DomainProblem(domain));
        Assert.Contains("253", DkimNames.SelectorProblem(label, domain), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fh2026a", null)]
    [InlineData("s1.eu", null)]
    [InlineData("", "DNS label")]
    [InlineData("fh_2026", "DNS label")]
    [InlineData("-fh", "DNS label")]
    [InlineData("fh..a", "DNS label")]
    public void Selectors_are_DNS_labels(string selector, string? problem)
    {
        var found = DkimNames.SelectorProblem(selector, "acme.example");
        if (problem is null)
            Assert.Null(found);
        else
            Assert.Contains(problem, found, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("talent@acme.example", "acme.example", true)]
    [InlineData("Talent@ACME.example", "acme.example.", true)]
    [InlineData("talent@jobs.acme.example", "acme.example", true)]   // From in a subdomain of d
    [InlineData("talent@acme.example", "mail.acme.example", true)]   // d in a subdomain of From: same organizational domain
    [InlineData("talent@other.example", "acme.example", false)]
    [InlineData("talent@notacme.example", "acme.example", false)]    // a suffix that is not a label boundary
    [InlineData("talent@news.acme.example", "mail.acme.example", false)] // siblings: not decidable without the public suffix list
    public void Alignment_is_DMARC_relaxed_alignment_without_the_public_suffix_list(string sender, string domain, bool aligns) =>
        Assert.Equal(aligns, DkimNames.Aligns(sender, domain));

    [Fact]
    public void The_DNS_record_is_the_public_key_split_into_255_character_strings()
    {
        var material = DkimKeyMaterial.Generate();
        var record = DkimDnsRecord.For("FH2026", "Acme.Example", material.PublicKey);
        Assert.Equal("fh2026._domainkey.acme.example", record.Name);
        Assert.Equal("TXT", record.Type);
        Assert.StartsWith("v=DKIM1; k=rsa; p=", record.Value, StringComparison.Ordinal);
        Assert.True(record.Value.Length > 255);
        Assert.All(record.Strings, s => Assert.InRange(s.Length, 1, 255));
        Assert.Equal(record.Value, string.Concat(record.Strings));
        Assert.Equal($"fh2026._domainkey.acme.example. IN TXT ( \"{record.Strings[0]}\" \"{record.Strings[1]}\" )", record.ZoneFile);
        using var parsed = RSA.Create();
        parsed.ImportSubjectPublicKeyInfo(Convert.FromBase64String(record.Value["v=DKIM1; k=rsa; p=".Length..]), out _);
        Assert.Equal(material.PublicKey, parsed.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void A_sealed_DKIM_key_opens_only_as_that_key_and_never_as_a_webhook_secret()
    {
        var box = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32));
        var key = DkimKey.Upload(Guid.NewGuid(), "acme.example", "fh1", RSA.Create(2048).ExportPkcs8PrivateKeyPem(), box, DateTimeOffset.UtcNow);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", key.OpenPrivateKey(box), StringComparison.Ordinal);
        Assert.ThrowsAny<CryptographicException>(() => box.Open(key.SealedPrivateKey, key.Id)); // the webhook purpose
        Assert.ThrowsAny<CryptographicException>(() => box.Open(key.SealedPrivateKey, Guid.NewGuid(), DkimKey.SealPurpose)); // another row
        Assert.False(key.Opens(new WebhookSecretBox(RandomNumberGenerator.GetBytes(32))));
    }

    [Fact]
    public void Every_bad_field_of_a_key_is_named_at_once()
    {
        var box = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32));
        var e = Assert.Throws<DomainException>(() => DkimKey.Upload(Guid.NewGuid(), "nodot", "bad_selector", "nope", box, DateTimeOffset.UtcNow));
        Assert.Equal(["domain", "privateKey", "selector"], e.Errors!.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_generated_key_may_not_take_the_active_keys_selector_and_activates_with_its_time()
    {
        var box = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32));
        var tenant = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var active = DkimKey.Upload(tenant, "acme.example", "fh1", RSA.Create(2048).ExportPkcs8PrivateKeyPem(), box, now);
        var e = Assert.Throws<DomainException>(() => DkimKey.Generate(tenant, "ACME.example", "FH1", active, DkimKeyMaterial.Generate(), box, now));
        Assert.True(e.Errors!.ContainsKey("selector"));

        var pending = DkimKey.Generate(tenant, "acme.example", "fh2", active, DkimKeyMaterial.Generate(), box, now);
        Assert.Equal(DkimKeyState.Pending, pending.State);
        Assert.Null(pending.ActivatedAt);
        Assert.True(pending.Generated);
        pending.Activate(now.AddHours(1));
        Assert.Equal(DkimKeyState.Active, pending.State);
        Assert.Equal(now.AddHours(1), pending.ActivatedAt);
    }

    [Fact]
    public void Status_says_what_the_worker_does()
    {
        var box = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32));
        var key = DkimKey.Upload(Guid.NewGuid(), "acme.example", "fh1", RSA.Create(1024).ExportPkcs8PrivateKeyPem(), box, DateTimeOffset.UtcNow);
        Assert.Equal(DkimStatus.NotSigned, DkimStatus.Of(null, false, "talent@acme.example").Status);
        var signing = DkimStatus.Of(key, true, "talent@acme.example");
        Assert.Equal(DkimStatus.Signing, signing.Status);
        Assert.Contains("2048 are recommended", signing.Detail, StringComparison.Ordinal);
        Assert.Equal(DkimStatus.DomainMismatch, DkimStatus.Of(key, true, "talent@other.example").Status);
        Assert.Equal(DkimStatus.DomainMismatch, DkimStatus.Of(key, false, "talent@other.example").Status); // unsigned anyway: nothing waits
        Assert.Equal(DkimStatus.KeyUnreadable, DkimStatus.Of(key, false, "talent@acme.example").Status);
    }
}
