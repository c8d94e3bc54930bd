using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Settings;

/// <summary>A tenant's DKIM key through /v1/settings: set, generate, activate, remove; what the answers show and never show.</summary>
public sealed class DkimSettingsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly TenantSettings Acme = TenantSettings.Default with { SenderAddress = "talent@acme.example" };
    private static readonly RSA Key = RSA.Create(2048);
    private static readonly RSA OtherKey = RSA.Create(2048);

    [Fact]
    public async Task Without_a_key_the_settings_say_emails_go_out_unsigned()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var dkim = (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("unsigned", dkim.Status);
        Assert.Contains("emails go out unsigned", dkim.Detail, StringComparison.Ordinal);
        Assert.Null(dkim.Domain);
        Assert.Null(dkim.DnsRecord);
        Assert.Null(dkim.Pending);
    }

    [Fact]
    public async Task An_admin_sets_a_key_and_the_settings_show_the_DNS_record_of_its_public_key()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var changed = await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("Acme.Example", "FH2026a", Key.ExportRSAPrivateKeyPem())))
            .ReadAsync<SettingsResponse>();
        var dkim = changed.Dkim;
        Assert.Equal("signing", dkim.Status);
        Assert.Equal(("acme.example", "fh2026a", 2048, false), (dkim.Domain, dkim.Selector, dkim.KeyBits, dkim.Generated));
        Assert.NotNull(dkim.UpdatedAt);
        AssertPublishes(dkim.DnsRecord!, "fh2026a._domainkey.acme.example", Key);

        var reread = (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal((dkim.Status, dkim.Domain, dkim.Selector, dkim.UpdatedAt, dkim.DnsRecord!.Value), (reread.Status, reread.Domain, reread.Selector, reread.UpdatedAt, reread.DnsRecord!.Value));

        var set = Assert.Single(await AuditAsync(tenant, "tenant.dkim-key-set"));
        Assert.Equal("fh2026a", Data(set).GetProperty("selector").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Key.ExportSubjectPublicKeyInfo())), Data(set).GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task A_key_is_replaced_kept_when_omitted_and_removed_with_null()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", Key.ExportRSAPrivateKeyPem()))).ReadAsync<SettingsResponse>();
        var replaced = (await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh2", OtherKey.ExportPkcs8PrivateKeyPem())))
            .ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("fh2", replaced.Selector);
        AssertPublishes(replaced.DnsRecord!, "fh2._domainkey.acme.example", OtherKey);

        var kept = (await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { retentionMonths = 6 }))).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal(("signing", "fh2"), (kept.Status, kept.Selector));

        var removed = (await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("unsigned", removed.Status);
        Assert.Null(removed.DnsRecord);
        await using (var db = api.Database.CreateDbContext())
            Assert.False(await db.DkimKeys.AnyAsync(k => k.TenantId == tenant.Id));
        var removals = await AuditAsync(tenant, "tenant.dkim-key-removed");
        Assert.Equal("fh2", Data(Assert.Single(removals)).GetProperty("selector").GetString());

        // Removing what is not there changes nothing and records nothing.
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).ReadAsync<SettingsResponse>();
        Assert.Single(await AuditAsync(tenant, "tenant.dkim-key-removed"));
    }

    public static TheoryData<string, string, string, string> BadKeys()
    {
        using var small = RSA.Create(512);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = Key.ExportPkcs8PrivateKeyPem();
        return new TheoryData<string, string, string, string>
        {
            { "not PEM", "acme.example", "fh1", "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----" },
            { "public key", "acme.example", "fh1", Key.ExportSubjectPublicKeyInfoPem() },
            { "512-bit key", "acme.example", "fh1", small.ExportRSAPrivateKeyPem() },
            { "encrypted key", "acme.example", "fh1", Key.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)) },
            { "EC key", "acme.example", "fh1", ec.ExportPkcs8PrivateKeyPem() },
            { "bad selector", "acme.example", "fh_1", pem },
            { "bad domain", "acme", "fh1", pem },
            { "domain with a space", "acme .example", "fh1", pem },
        };
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task Each_bad_key_input_answers_422_naming_its_field_and_changes_nothing(string why, string domain, string selector, string privateKey)
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var field = why switch
        {
            "bad selector" => "dkim.selector",
            "bad domain" or "domain with a space" => "dkim.domain",
            _ => "dkim.privateKey",
        };
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", SetKey(domain, selector, privateKey)))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        var errors = problem.GetProperty("errors");
        Assert.Equal(field, Assert.Single(errors.EnumerateObject()).Name);
        Assert.Equal("unsigned", (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.Status);
    }

    [Fact]
    public async Task Every_bad_field_is_named_at_once_with_the_other_settings()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new
            {
                retentionMonths = 0,
                dkim = new { domain = "nodot", selector = "-x", privateKey = Key.ExportSubjectPublicKeyInfoPem() },
            })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        Assert.Equal(["dkim.domain", "dkim.privateKey", "dkim.selector", "retentionMonths"],
            problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(12, (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).RetentionMonths);
    }

    [Fact]
    public async Task A_dkim_member_without_its_required_members_is_unreadable()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = new { domain = "acme.example" } })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-json");
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = new { domain = "acme.example", selector = "a", privateKey = "x", bits = 2048 } })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-json");
    }

    [Fact]
    public async Task A_sender_outside_the_keys_domain_is_a_domain_mismatch_and_a_subdomain_sender_signs()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", Key.ExportRSAPrivateKeyPem()))).ReadAsync<SettingsResponse>();

        var mismatch = (await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { senderAddress = "talent@acme-jobs.example" })))
            .ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("domainMismatch", mismatch.Status);
        Assert.Contains("emails go out unsigned", mismatch.Detail, StringComparison.Ordinal);
        Assert.NotNull(mismatch.DnsRecord); // the key is kept: changing the sender back signs again

        var subdomain = (await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { senderAddress = "talent@jobs.acme.example" })))
            .ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("signing", subdomain.Status);
    }

    [Fact]
    public async Task The_private_key_never_appears_in_answers_audit_logs_or_the_database()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        var answers = new StringBuilder();
        async Task Keep(HttpResponseMessage response) => answers.AppendLine(await response.Content.ReadAsStringAsync());

        await Keep(await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", rsa.ExportRSAPrivateKeyPem())));
        await Keep(await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", rsa.ExportRSAPrivateKeyPem() + "\nnoise", 0))); // a 422
        await Keep(await tenant.Admin.GetAsync("/v1/settings"));
        await Keep(await (await tenant.ClientAsync(Roles.Legal)).GetAsync("/v1/settings"));
        await Keep(await tenant.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })));
        await Keep(await tenant.Admin.GetAsync("/v1/audit"));
        await Keep(await tenant.Admin.GetAsync("/v1/audit?limit=100"));

        var secrets = SecretFragments(rsa);
        await using var db = api.Database.CreateDbContext();
        var keys = await db.DkimKeys.Where(k => k.TenantId == tenant.Id).ToListAsync();
        Assert.Equal(2, keys.Count);
        var box = WebhookSecretBox.FromConfiguration(TestServices.WebhookSecretKey);
        secrets.AddRange(keys.Where(k => k.Generated).SelectMany(k => SecretFragments(k.OpenPrivateKey(box)))); // the generated key too

        var places = new Dictionary<string, string>
        {
            ["answers"] = answers.ToString(),
            ["logs"] = string.Join('\n', api.Logs.Lines),
            ["database dump"] = await api.Database.DumpAsync(),
        };
        foreach (var (place, text) in places)
            Assert.All(secrets, s => Assert.False(text.Contains(s, StringComparison.Ordinal), $"A piece of the private key is in the {place}."));

        // The sealed column holds neither the PEM nor the key's DER.
        var uploaded = keys.Single(k => !k.Generated);
        Assert.Equal(rsa.ExportPkcs8PrivateKeyPem(), uploaded.OpenPrivateKey(box));
        var sealedBytes = uploaded.SealedPrivateKey;
        Assert.DoesNotContain(Convert.ToHexString(rsa.ExportPkcs8PrivateKey().AsSpan(40, 32)), Convert.ToHexString(sealedBytes), StringComparison.Ordinal);
        Assert.Equal(-1, sealedBytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(rsa.ExportPkcs8PrivateKeyPem()[40..80])));
        Assert.Equal(-1, sealedBytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(rsa.ExportRSAPrivateKeyPem()[40..80])));
    }

    [Fact]
    public async Task Only_admins_change_the_key_and_legal_reads_the_status()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", Key.ExportRSAPrivateKeyPem()))).ReadAsync<SettingsResponse>();
        var legal = await tenant.ClientAsync(Roles.Legal);
        Assert.Equal("signing", (await (await legal.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.Status);
        await (await legal.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await legal.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        foreach (var role in new[] { Roles.Recruiter, Roles.Interviewer, Roles.Integration })
        {
            var client = await tenant.ClientAsync(role);
            await (await client.GetAsync("/v1/settings")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
            await (await client.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        }

        Assert.Equal("signing", (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.Status);
    }

    [Fact]
    public async Task Tenants_see_and_change_only_their_own_keys()
    {
        var a = await api.CreateTenantAsync(settings: Acme);
        var b = await api.CreateTenantAsync(settings: Acme);
        await (await a.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", Key.ExportRSAPrivateKeyPem()))).ReadAsync<SettingsResponse>();
        await (await a.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })))
            .ReadAsync<DkimSettingsResponse>();

        Assert.Equal("unsigned", (await (await b.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.Status);
        await (await b.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })))
            .AssertProblemAsync(HttpStatusCode.Conflict, "no-pending-dkim-key");
        await (await b.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).ReadAsync<SettingsResponse>();

        var mine = (await (await a.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal(("signing", "fh1", "fh2"), (mine.Status, mine.Selector, mine.Pending?.Selector));
        Assert.Empty(await AuditAsync(b, "tenant.dkim-key-removed"));
    }

    [Fact]
    public async Task A_generated_key_waits_until_it_is_activated_by_the_names_of_its_record()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh1", Key.ExportRSAPrivateKeyPem()))).ReadAsync<SettingsResponse>();

        var sameSelector = await (await tenant.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh1" })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        Assert.True(sameSelector.GetProperty("errors").TryGetProperty("selector", out _));
        var badNames = await (await tenant.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme", selector = "a b" })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(2, badNames.GetProperty("errors").EnumerateObject().Count());

        var generate = new HttpRequestMessage(HttpMethod.Post, "/v1/settings/dkim/generate")
        {
            Content = HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" }),
            Headers = { { "Idempotency-Key", "generate-fh2" } },
        };
        var generated = await (await tenant.Admin.SendAsync(generate)).ReadAsync<DkimSettingsResponse>();
        Assert.Equal(("signing", "fh1"), (generated.Status, generated.Selector)); // the active key signs on
        var pending = generated.Pending!;
        Assert.Equal(("acme.example", "fh2", 2048), (pending.Domain, pending.Selector, pending.KeyBits));
        Assert.Equal("fh2._domainkey.acme.example", pending.DnsRecord.Name);
        Assert.Contains("waits for activation", generated.Detail, StringComparison.Ordinal);

        // A repeat with the same Idempotency-Key answers the same key (the record the admin copied stays right).
        var repeat = new HttpRequestMessage(HttpMethod.Post, "/v1/settings/dkim/generate")
        {
            Content = HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" }),
            Headers = { { "Idempotency-Key", "generate-fh2" } },
        };
        Assert.Equal(pending.DnsRecord.Value, (await (await tenant.Admin.SendAsync(repeat)).ReadAsync<DkimSettingsResponse>()).Pending!.DnsRecord.Value);

        await (await tenant.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh3" })))
            .AssertProblemAsync(HttpStatusCode.Conflict, "dkim-key-mismatch");
        var active = await (await tenant.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "ACME.example", selector = "FH2" })))
            .ReadAsync<DkimSettingsResponse>();
        Assert.Equal(("signing", "fh2", true), (active.Status, active.Selector, active.Generated));
        Assert.Equal(pending.DnsRecord, active.DnsRecord! with { Strings = pending.DnsRecord.Strings });
        Assert.Null(active.Pending);
        await (await tenant.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2" })))
            .AssertProblemAsync(HttpStatusCode.Conflict, "no-pending-dkim-key");

        var actions = (await AuditAsync(tenant, null)).Select(e => e.GetProperty("action").GetString()).Where(a => a!.StartsWith("tenant.dkim", StringComparison.Ordinal));
        Assert.Equal(["tenant.dkim-key-set", "tenant.dkim-key-generated", "tenant.dkim-key-activated"], actions);
    }

    [Fact]
    public async Task A_key_that_no_operator_key_opens_shows_as_unreadable()
    {
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var lost = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32));
        await using (var db = api.Database.CreateDbContext())
        {
            db.DkimKeys.Add(DkimKey.Upload(tenant.Id, "acme.example", "fh1", Key.ExportRSAPrivateKeyPem(), lost, DateTimeOffset.UtcNow));
            await db.SaveChangesAsync();
        }

        var dkim = (await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("keyUnreadable", dkim.Status);
        Assert.Contains("emails wait", dkim.Detail, StringComparison.Ordinal);
        AssertPublishes(dkim.DnsRecord!, "fh1._domainkey.acme.example", Key); // the public key is not sealed

        // The tenant's way out: a new key (or none).
        var replaced = (await (await tenant.Admin.PatchAsync("/v1/settings", SetKey("acme.example", "fh2", OtherKey.ExportRSAPrivateKeyPem())))
            .ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("signing", replaced.Status);
    }

    /// <summary>The record's value is the key's public key: parsed back, it is the same key.</summary>
    internal static void AssertPublishes(DkimDnsRecord record, string name, RSA key)
    {
        Assert.Equal(name, record.Name);
        Assert.Equal("TXT", record.Type);
        var tags = record.Value.Split(';', StringSplitOptions.TrimEntries).Select(t => t.Split('=', 2)).ToDictionary(t => t[0], t => t[1]);
        Assert.Equal(("DKIM1", "rsa"), (tags["v"], tags["k"]));
        using var published = RSA.Create();
        published.ImportSubjectPublicKeyInfo(Convert.FromBase64String(tags["p"]), out _);
        Assert.Equal(key.ExportParameters(false).Modulus, published.ExportParameters(false).Modulus);
        Assert.Equal(key.ExportParameters(false).Exponent, published.ExportParameters(false).Exponent);
        Assert.Equal(record.Value, string.Concat(record.Strings));
        Assert.All(record.Strings, s => Assert.True(s.Length <= 255));
        Assert.StartsWith(name + ". IN TXT ( \"v=DKIM1; k=rsa; p=", record.ZoneFile, StringComparison.Ordinal);
    }

    private static StringContent SetKey(string domain, string selector, string privateKey, int? retentionMonths = null) =>
        HttpAssertions.JsonBody(new { retentionMonths, dkim = new { domain, selector, privateKey } });

    /// <summary>
    /// Pieces of a private key as it could leak: the lines of its PEM forms (PKCS#1, PKCS#8) but those that only encode
    /// the public modulus (the DNS record publishes it), and the private exponent and primes in base64 and hex.
    /// </summary>
    private static List<string> SecretFragments(RSA rsa)
    {
        var p = rsa.ExportParameters(true);
        string[] publicForms = [Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()), Convert.ToBase64String(rsa.ExportRSAPublicKey())];
        return
        [
            .. PemLines(rsa.ExportRSAPrivateKeyPem()).Concat(PemLines(rsa.ExportPkcs8PrivateKeyPem()))
                .Where(line => !publicForms.Any(f => f.Contains(line, StringComparison.Ordinal))),
            .. new[] { p.D!, p.P!, p.Q! }.SelectMany(secret => new[]
            {
                Convert.ToBase64String(secret)[..40],
                Convert.ToHexString(secret.AsSpan(8, 24)),
                Convert.ToHexStringLower(secret.AsSpan(8, 24)),
            }),
        ];
    }

    private static List<string> SecretFragments(string pem)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return SecretFragments(rsa);
    }

    private static IEnumerable<string> PemLines(string pem) =>
        pem.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.Length >= 40 && !l.StartsWith("-----", StringComparison.Ordinal));

    /// <summary>An audit event's data (a JSON text in the answer).</summary>
    private static JsonElement Data(JsonElement e) => JsonDocument.Parse(e.GetProperty("data").GetString()!).RootElement;

    private static async Task<List<JsonElement>> AuditAsync(TestTenant tenant, string? action)
    {
        var body = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).Content.ReadAsStringAsync();
        return JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray()
            .Where(e => action is null || e.GetProperty("action").GetString() == action).ToList();
    }
}
