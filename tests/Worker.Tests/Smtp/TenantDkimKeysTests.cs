using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>
/// The worker's <see cref="TenantDkimKeys"/> over keys set through the real API: which key a send gets, when none, how
/// long an answer is kept, what an unreadable key does; and that a message signed with the key verifies, with an
/// independent verifier (MimeKit's), against the record the settings answer tells the admin to publish.
/// </summary>
public sealed class TenantDkimKeysTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly TenantSettings Acme = TenantSettings.Default with { SenderAddress = "talent@acme.example" };
    private readonly ManualClock _clock = new();
    private readonly CapturedLogs _logs = new();

    [Fact]
    public async Task A_send_gets_the_tenants_key_when_the_sender_aligns_and_none_otherwise()
    {
        var (keys, _) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        var other = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        await SetKeyAsync(tenant, "acme.example", "fh1", rsa.ExportRSAPrivateKeyPem());

        var signing = await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None);
        Assert.Equal(("acme.example", "fh1"), (signing!.Domain, signing.Selector));
        using var opened = RSA.Create();
        opened.ImportFromPem(signing.PrivateKeyPem);
        Assert.Equal(rsa.ExportParameters(true).D, opened.ExportParameters(true).D);
        Assert.DoesNotContain("BEGIN", signing.ToString(), StringComparison.Ordinal);

        Assert.NotNull(await keys.ForSenderAsync(tenant.Id, "hr@jobs.acme.example", CancellationToken.None)); // a subdomain aligns
        Assert.Null(await keys.ForSenderAsync(tenant.Id, "talent@other.example", CancellationToken.None)); // would not align: unsigned
        Assert.Null(await keys.ForSenderAsync(other.Id, "talent@acme.example", CancellationToken.None)); // another tenant's key is never lent
        Assert.Null(await keys.ForSenderAsync(Guid.NewGuid(), "talent@acme.example", CancellationToken.None));
    }

    [Fact]
    public async Task A_pending_key_signs_nothing_until_it_is_activated()
    {
        var (keys, _) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh1" })))
            .ReadAsync<DkimSettingsResponse>();
        Assert.Null(await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None));

        await (await tenant.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh1" })))
            .ReadAsync<DkimSettingsResponse>();
        _clock.Advance(TenantDkimKeys.CacheFor);
        Assert.Equal("fh1", (await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None))!.Selector);
    }

    [Fact]
    public async Task An_answer_is_kept_for_30_seconds_so_a_send_neither_queries_nor_decrypts()
    {
        var (keys, _) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        await SetKeyAsync(tenant, "acme.example", "fh1", rsa.ExportRSAPrivateKeyPem());
        Assert.NotNull(await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None));

        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).ReadAsync<SettingsResponse>();
        _clock.Advance(TenantDkimKeys.CacheFor - TimeSpan.FromSeconds(1));
        Assert.NotNull(await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None)); // still the kept answer
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None));
    }

    [Fact]
    public async Task An_unreadable_key_holds_the_email_logs_one_error_and_degrades_readiness()
    {
        var (keys, services) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        await using (var db = api.Database.CreateDbContext())
        {
            db.DkimKeys.Add(DkimKey.Upload(tenant.Id, "acme.example", "fh1", rsa.ExportRSAPrivateKeyPem(), new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)), DateTimeOffset.UtcNow));
            await db.SaveChangesAsync();
        }

        for (var i = 0; i < 3; i++)
        {
            var e = await Assert.ThrowsAsync<DkimKeyUnreadableException>(() => keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None));
            Assert.Equal(tenant.Id, e.TenantId);
            _clock.Advance(TenantDkimKeys.CacheFor); // reloaded each time: still one log line
        }

        Assert.Null(await keys.ForSenderAsync(tenant.Id, "talent@other.example", CancellationToken.None)); // unsigned anyway: nothing to hold
        var errors = _logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).ToList();
        Assert.Contains(tenant.Id.ToString(), Assert.Single(errors), StringComparison.Ordinal);
        var pemLines = rsa.ExportPkcs8PrivateKeyPem().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(_logs.Lines, l => l.Contains("PRIVATE KEY", StringComparison.Ordinal) || pemLines.Any(p => l.Contains(p, StringComparison.Ordinal)));

        var health = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == "dkim-keys");
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains(tenant.Id.ToString(), health.Entries["dkim-keys"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_signed_with_the_key_verifies_against_the_published_record_and_a_tampered_one_does_not()
    {
        var (keys, _) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        await (await tenant.Admin.PostAsync("/v1/settings/dkim/generate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2026" })))
            .ReadAsync<DkimSettingsResponse>();
        var record = (await (await tenant.Admin.PostAsync("/v1/settings/dkim/activate", HttpAssertions.JsonBody(new { domain = "acme.example", selector = "fh2026" })))
            .ReadAsync<DkimSettingsResponse>()).DnsRecord!;
        var signing = await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None);

        var raw = Sign(Message(), signing!);
        var locator = new RecordLocator(record.Name, string.Concat(record.Strings)); // what a resolver hands a verifier
        Assert.True(await Verify(raw, locator));

        var tampered = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(raw).Replace("a stronger application", "a weaker application", StringComparison.Ordinal));
        Assert.NotEqual(raw, tampered);
        Assert.False(await Verify(tampered, locator));

        // And a key that is not the published one does not verify either.
        using var stranger = RSA.Create(2048);
        Assert.False(await Verify(Sign(Message(), signing! with { PrivateKeyPem = stranger.ExportPkcs8PrivateKeyPem() }), locator));
    }

    [Fact]
    public async Task An_email_the_worker_sends_with_the_tenants_key_verifies_as_received_against_the_published_record()
    {
        var (keys, _) = Provider();
        var tenant = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        var record = (await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = new { domain = "acme.example", selector = "fh1", privateKey = rsa.ExportRSAPrivateKeyPem() } })))
            .ReadAsync<SettingsResponse>()).Dkim.DnsRecord!;
        var to = MailSink.NewAddress();
        var message = new EmailMessage(new Domain.Email.MailboxAddress("Acme Talent", "talent@acme.example"), new Domain.Email.MailboxAddress("Sam", to), null,
            "Your feedback", "What would make a stronger application next time: more detail.", "<p>Thank you.</p>", $"{Guid.NewGuid():N}@feedbackhub.test",
            DateTimeOffset.UtcNow, await keys.ForSenderAsync(tenant.Id, "talent@acme.example", CancellationToken.None));
        await using var sender = new MailKitEmailSender(
            Options.Create(new SmtpOptions { Host = TestServices.SmtpHost, Port = TestServices.SmtpPort, Security = SmtpSecurity.None }),
            new SmtpHealth(NullLogger<SmtpHealth>.Instance), new HostingEnvironment { EnvironmentName = "Testing" });

        Assert.True((await sender.SendAsync(message, CancellationToken.None)).IsAccepted);
        var received = Assert.Single(await MailSink.WaitForAsync(to));
        Assert.True(await Verify(Encoding.UTF8.GetBytes(received.Raw), new RecordLocator(record.Name, record.Value)));
    }

    [Fact]
    public void The_worker_host_signs_with_the_tenants_keys()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = api.Database.ConnectionString,
            ["ConnectionStrings:RabbitMq"] = TestServices.RabbitMq,
            ["Webhooks:SecretKey"] = TestServices.WebhookSecretKey,
        });
        builder.AddFeedbackHubWorker();
        using var host = builder.Build(); // not started: only what it would resolve
        Assert.IsType<TenantDkimKeys>(host.Services.GetRequiredService<IDkimKeyProvider>());
    }

    private static MimeMessage Message()
    {
        var message = new MimeMessage
        {
            Subject = "Your feedback from Acme",
            Date = new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero),
            MessageId = "delivery-1@feedbackhub.acme.example",
            Body = new TextPart("plain") { Text = "Thank you for your application.\r\nWhat would make a stronger application next time: more detail.\r\n" },
        };
        message.From.Add(new MimeKit.MailboxAddress("Acme Talent", "talent@acme.example"));
        message.To.Add(new MimeKit.MailboxAddress("Sam Candidate", "sam@example.net"));
        return message;
    }

    /// <summary>Signs as the issue asks (relaxed/relaxed; From, To, Subject, Date, Message-ID, MIME-Version) and returns the bytes sent.</summary>
    private static byte[] Sign(MimeMessage message, DkimSigning key)
    {
        using var pem = new MemoryStream(Encoding.ASCII.GetBytes(key.PrivateKeyPem));
        var signer = new DkimSigner(pem, key.Domain, key.Selector, DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        message.Prepare(EncodingConstraint.SevenBit);
        signer.Sign(message, [HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId, HeaderId.MimeVersion]);
        using var output = new MemoryStream();
        message.WriteTo(output);
        return output.ToArray();
    }

    private static async Task<bool> Verify(byte[] raw, RecordLocator locator)
    {
        var received = await MimeMessage.LoadAsync(new MemoryStream(raw));
        var signature = received.Headers[received.Headers.IndexOf(HeaderId.DkimSignature)];
        return await new DkimVerifier(locator).VerifyAsync(received, signature);
    }

    private (TenantDkimKeys Keys, IServiceProvider Services) Provider()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = api.Database.ConnectionString,
            [WebhookSecretBox.ConfigurationKey] = TestServices.WebhookSecretKey,
        }).Build());
        services.AddLogging(b => b.ClearProviders().SetMinimumLevel(LogLevel.Debug).AddProvider(_logs));
        services.AddSingleton<TimeProvider>(_clock);
        services.AddFeedbackHubDatabase();
        services.AddSingleton<ITenantScope, SystemTenantScope>();
        services.AddWebhookSecrets();
        services.AddTenantDkimKeys();
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<TenantDkimKeys>(), provider);
    }

    private static async Task SetKeyAsync(TestTenant tenant, string domain, string selector, string privateKey) =>
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = new { domain, selector, privateKey } })))
            .ReadAsync<SettingsResponse>();

    /// <summary>Answers the one record name with the TXT text the settings answer shows, as DNS would.</summary>
    private sealed class RecordLocator(string name, string txt) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            string.Equals($"{selector}._domainkey.{domain}", name, StringComparison.OrdinalIgnoreCase)
                ? GetPublicKey(txt)
                : throw new InvalidOperationException($"No TXT record at {selector}._domainkey.{domain}.");

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
