using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Auditing;
using System.Security.Cryptography;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;
using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Api.Tests.Settings;

/// <summary>The API after an operator replaced Webhooks:SecretKey: the new key is current, the old one is in Webhooks:PreviousSecretKeys.</summary>
public sealed class DkimRekeyFixture : IAsyncLifetime
{
    public DkimRekeyFixture()
    {
        Api.Settings[WebhookSecretBox.ConfigurationKey] = NewKey;
        Api.Settings[WebhookSecretBox.PreviousKeysConfigurationKey] = OldKey;
    }

    public string OldKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string NewKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public ApiFactory Api { get; } = new();

    public Task InitializeAsync() => Api.InitializeAsync();

    public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
}

/// <summary>Rotating the operator's key re-seals DKIM private keys too; their DNS records do not change.</summary>
public sealed class DkimKeyRekeyTests(DkimRekeyFixture fixture) : IClassFixture<DkimRekeyFixture>
{
    private static readonly TenantSettings Acme = TenantSettings.Default with { SenderAddress = "talent@acme.example" };

    [Fact]
    public async Task Rekey_reseals_DKIM_keys_under_the_new_key_and_names_the_tenants_whose_key_no_key_opens()
    {
        var api = fixture.Api;
        var kept = await api.CreateTenantAsync(settings: Acme);
        var lost = await api.CreateTenantAsync(settings: Acme);
        using var rsa = RSA.Create(2048);
        var old = new WebhookSecretBox(Convert.FromBase64String(fixture.OldKey));
        var now = DateTimeOffset.UtcNow;
        var sealedUnderOld = DkimKey.Upload(kept.Id, "acme.example", "fh1", rsa.ExportPkcs8PrivateKeyPem(), old, now);
        await using (var db = api.Database.CreateDbContext())
        {
            db.DkimKeys.Add(sealedUnderOld);
            db.DkimKeys.Add(DkimKey.Upload(lost.Id, "acme.example", "fh1", rsa.ExportPkcs8PrivateKeyPem(), new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)), now));
            await db.SaveChangesAsync();
        }

        // Before: the old key still opens it (a previous key), so the tenant's emails are signed.
        var before = (await (await kept.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim;
        Assert.Equal("signing", before.Status);
        Assert.Equal("keyUnreadable", (await (await lost.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.Status);

        // The audit checkpoint-signing key was made while the old key was current.
        Guid signingKey;
        await using (var db = api.Database.CreateDbContext())
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            signingKey = (await new AuditSigner(old).SignAsync(db, kept.Id, 0, MerkleTree.EmptyRoot, now, CancellationToken.None)).KeyId;
            await tx.CommitAsync();
        }

        var (exit, output, error) = await RekeyAsync("rekey-secrets");
        Assert.Equal(1, exit);
        Assert.Contains("audit checkpoint-signing keys: 1 re-sealed, 0 already current, 0 unreadable.", output, StringComparison.Ordinal);
        var checkpoint = await (await kept.Admin.GetAsync("/v1/audit/checkpoint")).ReadAsync<Features.Audit.AuditCheckpointResponse>();
        Assert.Equal(signingKey, checkpoint.KeyId); // the same key signs on, now opened by the new operator key
        Assert.Contains("DKIM keys: 1 re-sealed under the current key, 0 already current, 1 unreadable", output, StringComparison.Ordinal);
        Assert.Contains($"tenant {lost.Id}", error, StringComparison.Ordinal);
        Assert.DoesNotContain(kept.Id.ToString(), error, StringComparison.Ordinal);

        // The new key alone opens it now, to the same private key; the published record is unchanged.
        await using (var db = api.Database.CreateDbContext())
        {
            var resealed = await db.DkimKeys.SingleAsync(k => k.TenantId == kept.Id);
            Assert.NotEqual(sealedUnderOld.SealedPrivateKey, resealed.SealedPrivateKey);
            Assert.Equal(rsa.ExportPkcs8PrivateKeyPem(), resealed.OpenPrivateKey(new WebhookSecretBox(Convert.FromBase64String(fixture.NewKey))));
            Assert.False(resealed.Opens(old));
        }

        Assert.Equal(before.DnsRecord!.Value, (await (await kept.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).Dkim.DnsRecord!.Value);

        // The lost tenant removes its key; the earlier command name runs the same pass and finds everything current.
        await (await lost.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { dkim = (object?)null }))).ReadAsync<SettingsResponse>();
        (exit, output, _) = await RekeyAsync("rekey-webhook-secrets");
        Assert.Equal(0, exit);
        Assert.Contains("DKIM keys: 0 re-sealed under the current key, 1 already current, 0 unreadable", output, StringComparison.Ordinal);
        Assert.Contains("Webhooks:PreviousSecretKeys can be removed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rekey_reseals_authenticator_keys_and_names_the_people_whose_key_no_key_opens()
    {
        var api = fixture.Api;
        var tenant = await api.CreateTenantAsync();
        var kept = await PeopleSteps.JoinedAsync(tenant, "Kim Kept", "recruiter");
        var lost = await PeopleSteps.JoinedAsync(tenant, "Lou Lost", "recruiter");
        var old = new WebhookSecretBox(Convert.FromBase64String(fixture.OldKey));
        const string Key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        await using (var db = api.Database.CreateDbContext())
        {
            db.Set<IdentityUserToken<Guid>>().Add(Token(kept.Id, PersonStore.Seal(old, kept.Id, Key)));
            db.Set<IdentityUserToken<Guid>>().Add(Token(lost.Id, PersonStore.Seal(new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)), lost.Id, Key)));
            await db.SaveChangesAsync();
        }

        var (exit, output, error) = await RekeyAsync("rekey-secrets");
        Assert.Equal(1, exit);
        Assert.Contains("authenticator keys (two-step sign-in): 1 re-sealed, 0 already current, 1 unreadable.", output, StringComparison.Ordinal);
        Assert.Contains($"person {lost.Id}", error, StringComparison.Ordinal);
        Assert.DoesNotContain(kept.Id.ToString(), error, StringComparison.Ordinal);
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<FeedbackHub.Domain.People.Person>>();
            Assert.Equal(Key, await users.GetAuthenticatorKeyAsync((await users.FindByIdAsync(kept.Id.ToString()))!)); // same key, new seal
        }

        // The remedy the message names: an admin turns two-step sign-in off for the person; then everything is current.
        await using (var db = api.Database.CreateDbContext())
        {
            var person = await db.People.SingleAsync(p => p.Id == lost.Id);
            person.TwoFactorEnabled = true;
            await db.SaveChangesAsync();
        }

        (await tenant.Admin.DeleteAsync($"/v1/people/{lost.Id}/two-step")).EnsureSuccessStatusCode();
        (_, output, error) = await RekeyAsync("rekey-secrets");
        Assert.Contains("authenticator keys (two-step sign-in): 0 re-sealed, 1 already current, 0 unreadable.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("person ", error, StringComparison.Ordinal);
    }

    private static IdentityUserToken<Guid> Token(Guid personId, string value) =>
        new() { UserId = personId, LoginProvider = PersonStore.TokenProvider, Name = PersonStore.AuthenticatorKeyName, Value = value };

    private async Task<(int Exit, string Output, string Error)> RekeyAsync(string command)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HostCommands.Find([command])!(fixture.Api.Services, [command], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
