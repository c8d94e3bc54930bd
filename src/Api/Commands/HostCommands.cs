using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Commands;

/// <summary>
/// One-shot commands of the Api host: <c>migrate</c>, <c>bootstrap-tenant</c>, <c>seed-demo</c>, <c>rekey-secrets</c>
/// (also under its earlier name <c>rekey-webhook-secrets</c>).
/// They run outside the request path (the API never migrates on a request) and exit.
/// </summary>
public static class HostCommands
{
    public delegate Task<int> Command(IServiceProvider services, string[] args, TextWriter output, TextWriter error);

    public static Command? Find(string[] args) =>
        args.Length == 0 ? null : args[0] switch
        {
            "migrate" => Migrate,
            "bootstrap-tenant" => BootstrapTenant,
            "seed-demo" => SeedDemo,
            "rekey-secrets" or "rekey-webhook-secrets" => RekeySecrets,
            _ => null,
        };

    /// <summary>Applies pending EF Core migrations (EF takes a lock, so concurrent runs are safe).</summary>
    public static async Task<int> Migrate(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        await using var scope = CreateSystemScope(services);
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
        await db.Database.MigrateAsync();
        await output.WriteLineAsync(pending.Count == 0
            ? "migrate: database is up to date."
            : $"migrate: applied {pending.Count} migration(s): {string.Join(", ", pending)}.");
        return 0;
    }

    /// <summary><c>bootstrap-tenant --name "Acme"</c>: creates a tenant and prints its first admin key once.</summary>
    public static async Task<int> BootstrapTenant(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        var name = Option(args, "--name");
        if (string.IsNullOrWhiteSpace(name))
        {
            await error.WriteLineAsync("usage: bootstrap-tenant --name \"Company name\" [--jurisdiction US|UK|DE]");
            return 2;
        }

        await using var scope = CreateSystemScope(services);
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        var settings = TenantSettings.Default with { Jurisdiction = Option(args, "--jurisdiction") ?? "US" };
        var (tenant, secret) = await CreateTenantAsync(scope.ServiceProvider, name, settings, time.GetUtcNow());
        await output.WriteLineAsync($"Tenant '{tenant.Name}' created: {tenant.Id}");
        await output.WriteLineAsync($"Admin API key (shown once, store it now): {secret}");
        return 0;
    }

    /// <summary>
    /// Creates the demo tenant "Acme Robotics" if missing and prints a fresh key per role
    /// (earlier demo keys are revoked, so running it twice works and prints working keys).
    /// </summary>
    public static async Task<int> SeedDemo(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        const string demoName = "Acme Robotics";
        await using var scope = CreateSystemScope(services);
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<FeedbackHubDbContext>();
        var audit = sp.GetRequiredService<AuditLog>();
        var now = sp.GetRequiredService<TimeProvider>().GetUtcNow();

        var tenant = await db.Tenants.SingleOrDefaultAsync(t => t.Name == demoName);
        if (tenant is null)
        {
            var settings = TenantSettings.Default with
            {
                CoolingOffDelay = TimeSpan.FromMinutes(2),
                SenderName = "Acme Robotics Talent Team",
                SenderAddress = "talent@acme-robotics.example",
                ReplyTo = "talent@acme-robotics.example",
                AllowPrivateWebhookTargets = true,
            };
            (tenant, _) = await CreateTenantAsync(sp, demoName, settings, now);
            await output.WriteLineAsync($"seed-demo: created tenant '{demoName}' ({tenant.Id}).");
        }
        else
        {
            await output.WriteLineAsync($"seed-demo: tenant '{demoName}' exists ({tenant.Id}); rotating its demo keys.");
        }

        foreach (var old in await db.ApiKeys.Where(k => k.TenantId == tenant.Id && k.RevokedAt == null && k.CreatedBy == "seed-demo").ToListAsync())
        {
            old.Revoke(now);
            audit.Record(tenant.Id, Actor.System, "api-key.revoked", "api-key", old.Id);
        }

        var people = new (string Role, string Name)[]
        {
            (Roles.Admin, "Demo Admin"),
            (Roles.Recruiter, "Demo Recruiter (Riley)"),
            (Roles.Recruiter, "Demo Recruiter (Sam)"),
            (Roles.Interviewer, "Demo Hiring Manager"),
            (Roles.Legal, "Demo Legal Reviewer"),
            (Roles.Integration, "Demo ATS Integration"),
        };
        var printed = new List<(string Role, string Name, string Secret)>();
        var actors = new Dictionary<string, Actor>();
        foreach (var (role, name) in people)
        {
            var (key, secret) = ApiKey.Create(tenant.Id, name, [role], "seed-demo", now);
            db.ApiKeys.Add(key);
            audit.Record(tenant.Id, Actor.System, "api-key.created", "api-key", key.Id, new { roles = key.Roles });
            printed.Add((role, name, secret));
            actors.TryAdd(role, new Actor(key.Id, key.DisplayName));
        }

        if (!await db.Templates.AnyAsync(t => t.TenantId == tenant.Id))
        {
            // Written by a recruiter, published by legal: the same four-eyes path and language check as the API.
            var language = sp.GetRequiredService<Domain.Language.LanguageCheckers>();
            foreach (var (templateName, content) in ExampleTemplates.All)
            {
                var blocking = language.Check(tenant.Settings.Jurisdiction, content.CandidateVisibleText())
                    .Where(f => f.Finding.Severity == Domain.Language.Severity.Block).ToList();
                if (blocking.Count > 0)
                    throw new InvalidOperationException($"Example template '{templateName}' has blocking findings: {string.Join(", ", blocking.Select(b => b.Path + " " + b.Finding.RuleId))}");
                var template = Domain.Templates.Template.Create(tenant.Id, templateName, "en", content, actors[Roles.Recruiter], now);
                template.Latest.Submit(now);
                template.Publish(1, actors[Roles.Legal], now);
                db.Templates.Add(template);
                audit.Record(tenant.Id, actors[Roles.Recruiter], "template.created", "template", template.Id, new { version = 1 });
                audit.Record(tenant.Id, actors[Roles.Recruiter], "template.submitted", "template", template.Id, new { version = 1 });
                audit.Record(tenant.Id, actors[Roles.Legal], "template.published", "template", template.Id, new { version = 1 });
            }

            await output.WriteLineAsync($"seed-demo: published {ExampleTemplates.All.Count} example templates ({string.Join(", ", ExampleTemplates.All.Select(t => t.Name))}).");
        }

        await db.SaveChangesAsync();
        var signIns = await SeedDemoPeopleAsync(sp, tenant.Id, now);
        await output.WriteLineAsync("Demo API keys (Authorization: Bearer <key>):");
        foreach (var (role, name, secret) in printed)
            await output.WriteLineAsync($"  {role,-12} {name,-26} {secret}");
        await output.WriteLineAsync("Demo people (sign in at /app/sign-in):");
        foreach (var (role, email, password) in signIns)
            await output.WriteLineAsync($"  {role,-12} {email,-30} {password}");
        return 0;
    }

    /// <summary>One demo person per role, each with a new random password on every run (printed once, like the keys).</summary>
    private static async Task<List<(string Role, string Email, string Password)>> SeedDemoPeopleAsync(IServiceProvider sp, Guid tenantId, DateTimeOffset now)
    {
        var users = sp.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<Domain.People.Person>>();
        var printed = new List<(string, string, string)>();
        foreach (var (role, email, name) in new[]
        {
            (Roles.Admin, "admin@acme-robotics.example", "Avery Admin"),
            (Roles.Recruiter, "recruiter@acme-robotics.example", "Riley Recruiter"),
            (Roles.Interviewer, "interviewer@acme-robotics.example", "Ivy Interviewer"),
            (Roles.Legal, "legal@acme-robotics.example", "Lee Legal"),
        })
        {
            var password = "demo-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            var person = await users.FindByEmailAsync(email);
            var result = person is null
                ? await users.CreateAsync(Domain.People.Person.Invite(tenantId, email, name, [role], "seed-demo", now), password)
                : await users.ResetPasswordAsync(person, await users.GeneratePasswordResetTokenAsync(person), password);
            if (!result.Succeeded)
                throw new InvalidOperationException($"Demo person {email}: {string.Join(" ", result.Errors.Select(e => e.Description))}");
            printed.Add((role, email, password));
        }

        return printed;
    }

    /// <summary>
    /// <c>rekey-secrets</c>: after <c>Webhooks:SecretKey</c> was replaced and the old key moved to
    /// <c>Webhooks:PreviousSecretKeys</c>, re-seals every webhook secret, every tenant's DKIM private key, the audit
    /// checkpoint-signing keys and people's authenticator keys under the new
    /// key (the secrets, the keys and their DNS records do not change). Exit 0 when everything is now under the current
    /// key; 1 when some open with no configured key (listed).
    /// </summary>
    public static async Task<int> RekeySecrets(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        await using var scope = CreateSystemScope(services);
        var box = scope.ServiceProvider.GetRequiredService<Domain.Webhooks.WebhookSecretBox>();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var webhooks = await WebhookSecretRekeying.RunAsync(db, box);
        var dkim = await DkimKeyRekeying.RunAsync(db, box);
        var audit = await AuditSigningKeyRekeying.RunAsync(db, box);
        var authenticators = await AuthenticatorKeyRekeying.RunAsync(db, box);
        var name = args.Length > 0 ? args[0] : "rekey-secrets";
        await output.WriteLineAsync(
            $"{name}: webhook secrets: {webhooks.Resealed} re-sealed under the current key, {webhooks.AlreadyCurrent} already current, "
            + $"{webhooks.Unreadable.Count} unreadable ({box.PreviousKeyCount} previous key(s) configured).");
        await output.WriteLineAsync(
            $"{name}: DKIM keys: {dkim.Resealed} re-sealed under the current key, {dkim.AlreadyCurrent} already current, {dkim.Unreadable.Count} unreadable.");
        await output.WriteLineAsync(
            $"{name}: audit checkpoint-signing keys: {audit.Resealed} re-sealed, {audit.AlreadyCurrent} already current, {audit.Unreadable} unreadable"
            + (audit.Unreadable > 0 ? " (replaced by a new signing key at the next sealing run; checkpoints they signed still verify)." : "."));
        await output.WriteLineAsync(
            $"{name}: authenticator keys (two-step sign-in): {authenticators.Resealed} re-sealed, {authenticators.AlreadyCurrent} already current, {authenticators.Unreadable.Count} unreadable.");
        if (webhooks.Unreadable.Count == 0 && dkim.Unreadable.Count == 0 && authenticators.Unreadable.Count == 0)
        {
            if (webhooks.Resealed + webhooks.AlreadyCurrent + dkim.Resealed + dkim.AlreadyCurrent + authenticators.Resealed + authenticators.AlreadyCurrent > 0)
                await output.WriteLineAsync("Every webhook secret, DKIM key, audit signing key and authenticator key is sealed under Webhooks:SecretKey; Webhooks:PreviousSecretKeys can be removed.");
            return 0;
        }

        if (webhooks.Unreadable.Count > 0)
        {
            await error.WriteLineAsync(
                "These subscriptions' secrets open with no configured key (add the key they were sealed with to Webhooks:PreviousSecretKeys "
                + "and run again, or have their tenant rotate the secret with POST /v1/webhooks/{id}/rotate-secret):");
            foreach (var id in webhooks.Unreadable)
                await error.WriteLineAsync($"  {id}");
        }

        if (dkim.Unreadable.Count > 0)
        {
            await error.WriteLineAsync(
                "These tenants' DKIM keys open with no configured key, so their emails wait (add the key they were sealed with to "
                + "Webhooks:PreviousSecretKeys and run again, or have the tenant's admin set or generate a new key, or remove it):");
            foreach (var id in dkim.Unreadable)
                await error.WriteLineAsync($"  tenant {id}");
        }

        if (authenticators.Unreadable.Count > 0)
        {
            await error.WriteLineAsync(
                "These people's authenticator keys open with no configured key, so their authenticator codes fail (add the key they were "
                + "sealed with to Webhooks:PreviousSecretKeys and run again, or have each sign in with a recovery code and set up their app "
                + "again, or have an admin turn two-step sign-in off for them):");
            foreach (var id in authenticators.Unreadable)
                await error.WriteLineAsync($"  person {id}");
        }

        return 1;
    }

    internal static async Task<(Tenant Tenant, string AdminSecret)> CreateTenantAsync(IServiceProvider sp, string name, TenantSettings settings, DateTimeOffset now)
    {
        var db = sp.GetRequiredService<FeedbackHubDbContext>();
        var audit = sp.GetRequiredService<AuditLog>();
        var tenant = Tenant.Create(name, now, settings.Validated());
        await using var tx = await db.Database.BeginTransactionAsync();
        db.Tenants.Add(tenant);
        await db.SaveChangesAsync(); // the tenant row must exist before its audit chain can be locked
        var (key, secret) = ApiKey.Create(tenant.Id, "Bootstrap admin", [Roles.Admin], "bootstrap", now);
        db.ApiKeys.Add(key);
        audit.Record(tenant.Id, Actor.System, "tenant.created", "tenant", tenant.Id);
        audit.Record(tenant.Id, Actor.System, "api-key.created", "api-key", key.Id, new { roles = key.Roles });
        await db.SaveChangesAsync();
        await tx.CommitAsync();
        return (tenant, secret);
    }

    private static AsyncServiceScope CreateSystemScope(IServiceProvider services)
    {
        var scope = services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<Infrastructure.HttpTenantScope>().SystemAccess = true;
        return scope;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
