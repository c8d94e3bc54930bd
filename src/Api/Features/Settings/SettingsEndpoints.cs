using System.ComponentModel;
using System.Text.Json.Serialization;
using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Api.Features.Settings;

/// <summary>The operator's switch for <c>allowPrivateWebhookTargets</c> (development deployments only).</summary>
public sealed class TenantSettingsOptions
{
    /// <summary>
    /// When false (the default outside Development), no tenant may turn on <c>allowPrivateWebhookTargets</c>: webhook
    /// calls to loopback, link-local and private networks would let a tenant admin reach the operator's own network.
    /// </summary>
    public bool AllowPrivateWebhookTargets { get; set; }
}

/// <summary>
/// The tenant and its settings. <c>coolingOffMinutes</c>: delay between the rejection and the earliest feedback email.
/// <c>contactText</c>, <c>privacyText</c>: the tenant's own texts (null: the defaults); <c>emailFooter</c>: what every
/// feedback email ends with, defaults included. <c>dkim</c>: whether emails are DKIM-signed, and the DNS record.
/// </summary>
public sealed record SettingsResponse(
    Guid TenantId, string Name, int CoolingOffMinutes, int RequestWindowDays, int AnswerByDays, string SenderName, string SenderAddress,
    string? ReplyTo, string DefaultLocale, [property: ApiValues(typeof(JurisdictionCodes))] string Jurisdiction, bool AutoApproveTemplateOnly, bool InvitationsEnabled,
    bool AllowPrivateWebhookTargets, int RetentionMonths, string? ContactText, string? PrivacyText, EmailFooter EmailFooter, DkimSettingsResponse Dkim);

/// <summary>
/// A partial change: omitted (or null) fields keep their value; <c>replyTo: ""</c> removes the reply-to address;
/// <c>contactText: ""</c> and <c>privacyText: ""</c> go back to the default texts. <c>dkim</c> is the exception: omitted
/// keeps the key, an object sets it, and <c>null</c> removes it.
/// </summary>
public sealed record ChangeSettingsRequest(
    int? CoolingOffMinutes = null, int? RequestWindowDays = null, int? AnswerByDays = null, string? SenderName = null, string? SenderAddress = null,
    string? ReplyTo = null, string? DefaultLocale = null, [property: ApiValues(typeof(JurisdictionCodes))] string? Jurisdiction = null, bool? AutoApproveTemplateOnly = null,
    bool? InvitationsEnabled = null, bool? AllowPrivateWebhookTargets = null, int? RetentionMonths = null,
    [FreeText] string? ContactText = null, [FreeText] string? PrivacyText = null)
{
    private readonly DkimKeyRequest? _dkim;

    /// <summary>Omitted: the DKIM key stays. An object: it becomes the key that signs. <c>null</c>: no key, emails go out unsigned.</summary>
    [Description("Omitted: the DKIM key stays. An object: it becomes the key that signs (replacing the active one). null: the active and any pending key are removed and emails go out unsigned.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] // examples: null here would mean "remove"
    public DkimKeyRequest? Dkim
    {
        get => _dkim;
        init
        {
            _dkim = value;
            DkimGiven = true;
        }
    }

    /// <summary>Whether the body had a <c>dkim</c> member at all (null included): the JSON reader calls the setter only then.</summary>
    [JsonIgnore]
    public bool DkimGiven { get; private init; }
}

public static class SettingsEndpoints
{
    public static IEndpointRouteBuilder MapSettingsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/settings").WithTags("Settings");

        group.MapGet("/", GetSettings).WithName("GetSettings")
            .RequireAuthorization(Policies.AuditReaders)
            .WithSummary("Get the tenant's settings")
            .WithDescription("Roles `admin`, `legal`. Cooling-off delay, request window, sender, jurisdiction pack, invitations, retention, webhook targets, "
                + "and `dkim`: whether emails are DKIM-signed (`status`), with which domain and selector, and the DNS TXT record to publish "
                + "(`dnsRecord`: `value`, its 255-character `strings`, and a `zoneFile` line). The private key is never returned.")
            .ProducesAuthProblems();
        group.MapPatch("/", ChangeSettings).WithName("ChangeSettings")
            .RequireAuthorization(Policies.Admin)
            .WithSummary("Change some of the tenant's settings")
            .WithDescription("""
                Role `admin`. Omitted fields keep their value; `replyTo: ""` removes the reply-to address. Ranges:
                `coolingOffMinutes` 0..129600 (90 days), `requestWindowDays` 1..365, `answerByDays` 1..90, `retentionMonths` 1..120
                (candidates are erased automatically that long after their last activity, unless an application is on legal hold),
                `jurisdiction` US, UK or DE. `allowPrivateWebhookTargets` (webhooks to loopback and private networks) can be turned on
                only where the operator allows it (development); otherwise 422. `contactText` (whom the candidate may write to) and
                `privacyText` (how their data is handled, how to ask for erasure), at most 500 characters each, no merge fields, end
                every feedback email; `""` goes back to the default, built from `replyTo` (or `senderAddress`) and `retentionMonths`.
                Both must pass the tenant's language check: blocking findings answer 422 `language-blocked` with `findings`
                (path, rule, reason, suggestion). Audited with the names of the changed fields.
                `dkim: {domain, selector, privateKey}` sets the tenant's own DKIM key, signing from now on (publish its record
                first): an unencrypted RSA key in PEM (PKCS#1 or PKCS#8) of 1024 to 4096 bits, 2048 recommended; a bad domain,
                selector or key answers 422 naming `dkim.domain`, `dkim.selector` or `dkim.privateKey`. `dkim: null` removes the
                key (and a pending one): emails go out unsigned. Omitted, the key stays. The key is sealed at rest and never
                returned; audited as `tenant.dkim-key-set` / `tenant.dkim-key-removed` with the names and the public key's fingerprint.
                """)
            .WithRequestExample(new ChangeSettingsRequest(CoolingOffMinutes: 2880, RetentionMonths: 6, ContactText: "Questions? Write to talent@acme.example."))
            .ProducesAuthProblems().ProducesProblems(422);
        group.MapPost("/dkim/generate", GenerateDkimKey).WithName("GenerateDkimKey")
            .RequireAuthorization(Policies.Admin)
            .WithSummary("Generate a DKIM key, pending until its DNS record is published")
            .WithDescription("""
                Role `admin`. FeedbackHub makes a 2048-bit RSA key, so nobody handles the private key. The key is pending: it signs
                nothing until you publish `pending.dnsRecord` and activate it (POST /v1/settings/dkim/activate), so emails never
                carry a signature receivers cannot check yet. Generating again replaces a pending key. The selector must differ from
                the active key's (both records are published during a rotation). 422 naming `domain` or `selector`. Audited as
                `tenant.dkim-key-generated`. Honours Idempotency-Key (a repeat answers the same key).
                """)
            .WithRequestExample(new GenerateDkimKeyRequest("acme.example", "fh2026b"))
            .WithIdempotency().ProducesAuthProblems().ProducesProblems(422);
        group.MapPost("/dkim/activate", ActivateDkimKey).WithName("ActivateDkimKey")
            .RequireAuthorization(Policies.Admin)
            .WithSummary("Start signing with the pending DKIM key")
            .WithDescription("""
                Role `admin`. Name the pending key's `domain` and `selector` (the record you published): it becomes the active key
                and signs every email from now on (each worker picks it up within 30 seconds); the key it replaces is deleted (keep
                its record published for a few days: emails already sent are verified later). FeedbackHub does not look the record
                up; check it first (`dig TXT <name>`). 409 `no-pending-dkim-key` without a pending key, 409 `dkim-key-mismatch` when
                it has other names. Audited as `tenant.dkim-key-activated`.
                """)
            .WithRequestExample(new ActivateDkimKeyRequest("acme.example", "fh2026b"))
            .ProducesAuthProblems().ProducesProblems(409, 422);
        return app;
    }

    public static async Task<Ok<SettingsResponse>> GetSettings(CurrentActor caller, FeedbackHubDbContext db, WebhookSecretBox box, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().SingleAsync(t => t.Id == caller.TenantId, ct);
        return TypedResults.Ok(ToResponse(tenant, await DkimKeysAsync(db, caller.TenantId, ct), box));
    }

    public static async Task<Ok<SettingsResponse>> ChangeSettings(
        ChangeSettingsRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, IOptions<TenantSettingsOptions> options,
        WebhookSecretBox box, TimeProvider time, CancellationToken ct)
    {
        var tenant = await db.Tenants.SingleAsync(t => t.Id == caller.TenantId, ct);
        var current = tenant.Settings;
        var errors = new Dictionary<string, string[]>();
        DkimKey? uploaded = null;
        if (request.Dkim is { } dkim)
        {
            try
            {
                uploaded = DkimKey.Upload(caller.TenantId, dkim.Domain, dkim.Selector, dkim.PrivateKey, box, time.GetUtcNow());
            }
            catch (DomainException e) when (e.Errors is not null)
            {
                foreach (var (field, messages) in e.Errors)
                    errors.TryAdd("dkim." + field, messages);
            }
        }

        if (request.Jurisdiction is { } j && !RuleCatalog.Default.Jurisdictions.Contains(j, StringComparer.Ordinal))
            errors["jurisdiction"] = [$"Must be one of {string.Join(", ", RuleCatalog.Default.Jurisdictions)}."];
        if (request.DefaultLocale is { } locale && !Locales.IsValid(locale))
            errors["defaultLocale"] = ["Must be a language tag like 'en', 'en-GB' or 'de'."];
        if (request.AllowPrivateWebhookTargets == true && !current.AllowPrivateWebhookTargets && !options.Value.AllowPrivateWebhookTargets)
            errors["allowPrivateWebhookTargets"] = ["This deployment does not allow webhooks to loopback or private networks (development only)."];
        var changed = current with
        {
            CoolingOffDelay = request.CoolingOffMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : current.CoolingOffDelay,
            RequestWindowDays = request.RequestWindowDays ?? current.RequestWindowDays,
            AnswerByDays = request.AnswerByDays ?? current.AnswerByDays,
            SenderName = request.SenderName?.Trim() ?? current.SenderName,
            SenderAddress = request.SenderAddress?.Trim() ?? current.SenderAddress,
            ReplyTo = request.ReplyTo is null ? current.ReplyTo : request.ReplyTo.Trim() is { Length: > 0 } replyTo ? replyTo : null,
            DefaultLocale = request.DefaultLocale ?? current.DefaultLocale,
            Jurisdiction = request.Jurisdiction ?? current.Jurisdiction,
            AutoApproveTemplateOnly = request.AutoApproveTemplateOnly ?? current.AutoApproveTemplateOnly,
            InvitationsEnabled = request.InvitationsEnabled ?? current.InvitationsEnabled,
            AllowPrivateWebhookTargets = request.AllowPrivateWebhookTargets ?? current.AllowPrivateWebhookTargets,
            RetentionMonths = request.RetentionMonths ?? current.RetentionMonths,
            ContactText = request.ContactText is null ? current.ContactText : request.ContactText.Trim() is { Length: > 0 } contact ? contact : null,
            PrivacyText = request.PrivacyText is null ? current.PrivacyText : request.PrivacyText.Trim() is { Length: > 0 } privacy ? privacy : null,
        };
        // Every bad field at once: the request's own checks and the settings' rules (named as the API names them).
        foreach (var (field, messages) in changed.Problems())
            errors.TryAdd(field == "coolingOffDelay" ? "coolingOffMinutes" : field, messages);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "invalid-settings", "The tenant settings are not valid.") { Errors = errors };

        var fields = ChangedFields(current, changed);
        await using var tx = request.DkimGiven ? await db.Database.BeginTransactionAsync(ct) : null;
        var dkimChanged = false;
        if (request.DkimGiven)
        {
            var keys = await DkimKeyChanges.LockAsync(db, caller.TenantId, ct);
            if (uploaded is not null)
            {
                DkimKeyChanges.Set(db, audit, caller.Actor, keys, uploaded);
                dkimChanged = true;
            }
            else
            {
                dkimChanged = DkimKeyChanges.Remove(db, audit, caller.Actor, keys);
            }
        }

        if (fields.Count > 0)
        {
            tenant.ChangeSettings(changed);
            await CheckFooterLanguageAsync(language, db, caller.TenantId, current, changed, ct);
            audit.Record(caller.TenantId, caller.Actor, "tenant.settings-changed", "tenant", caller.TenantId, new { fields });
        }

        if (fields.Count > 0 || dkimChanged)
            await db.SaveChangesAsync(ct);
        if (tx is not null)
            await tx.CommitAsync(ct);
        return TypedResults.Ok(ToResponse(tenant, await DkimKeysAsync(db, caller.TenantId, ct), box));
    }

    public static async Task<Ok<DkimSettingsResponse>> GenerateDkimKey(
        GenerateDkimKeyRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, WebhookSecretBox box, TimeProvider time, CancellationToken ct)
    {
        DkimKey.CheckNames(request.Domain, request.Selector);
        var material = DkimKeyMaterial.Generate(); // before the lock: it takes a while
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var keys = await DkimKeyChanges.LockAsync(db, caller.TenantId, ct);
        var key = DkimKey.Generate(caller.TenantId, request.Domain, request.Selector, keys.Active, material, box, time.GetUtcNow());
        DkimKeyChanges.AddPending(db, audit, caller.Actor, keys, key);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(await DkimResponseAsync(db, caller.TenantId, box, ct));
    }

    public static async Task<Ok<DkimSettingsResponse>> ActivateDkimKey(
        ActivateDkimKeyRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, WebhookSecretBox box, TimeProvider time, CancellationToken ct)
    {
        DkimKey.CheckNames(request.Domain, request.Selector);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var keys = await DkimKeyChanges.LockAsync(db, caller.TenantId, ct);
        DkimKeyChanges.Activate(db, audit, caller.Actor, keys, request.Domain, request.Selector, time.GetUtcNow());
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(await DkimResponseAsync(db, caller.TenantId, box, ct));
    }

    private static async Task<List<DkimKey>> DkimKeysAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct) =>
        await db.DkimKeys.AsNoTracking().Where(k => k.TenantId == tenantId).ToListAsync(ct);

    private static async Task<DkimSettingsResponse> DkimResponseAsync(FeedbackHubDbContext db, Guid tenantId, WebhookSecretBox box, CancellationToken ct)
    {
        var settings = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.Settings).SingleAsync(ct);
        return DkimSettingsResponse.From(await DkimKeysAsync(db, tenantId, ct), settings, box);
    }

    /// <summary>The footer texts reach every candidate: blocking findings refuse them, as for a template's text.</summary>
    private static async Task CheckFooterLanguageAsync(
        TenantLanguage language, FeedbackHubDbContext db, Guid tenantId, TenantSettings current, TenantSettings changed, CancellationToken ct)
    {
        var texts = new List<(string Path, string Text)>();
        if (changed.ContactText is { } contact && !string.Equals(contact, current.ContactText, StringComparison.Ordinal))
            texts.Add(("contactText", contact));
        if (changed.PrivacyText is { } privacy && !string.Equals(privacy, current.PrivacyText, StringComparison.Ordinal))
            texts.Add(("privacyText", privacy));
        if (texts.Count == 0)
            return;
        var blocking = (await language.CheckAsync(db, tenantId, texts, ct)).Where(f => f.Finding.Severity == Severity.Block).ToList();
        if (blocking.Count > 0)
        {
            throw new DomainException(DomainErrorKind.Invalid, "language-blocked",
                $"The settings have {blocking.Count} blocking language finding(s); rewrite them before saving.")
            {
                Extensions = new Dictionary<string, object?> { ["findings"] = FindingResponse.From(blocking) },
            };
        }
    }

    private static List<string> ChangedFields(TenantSettings a, TenantSettings b)
    {
        var fields = new List<string>();
        void Check(bool same, string name)
        {
            if (!same)
                fields.Add(name);
        }

        Check(a.CoolingOffDelay == b.CoolingOffDelay, "coolingOffMinutes");
        Check(a.RequestWindowDays == b.RequestWindowDays, "requestWindowDays");
        Check(a.AnswerByDays == b.AnswerByDays, "answerByDays");
        Check(string.Equals(a.SenderName, b.SenderName, StringComparison.Ordinal), "senderName");
        Check(string.Equals(a.SenderAddress, b.SenderAddress, StringComparison.Ordinal), "senderAddress");
        Check(string.Equals(a.ReplyTo, b.ReplyTo, StringComparison.Ordinal), "replyTo");
        Check(string.Equals(a.DefaultLocale, b.DefaultLocale, StringComparison.Ordinal), "defaultLocale");
        Check(string.Equals(a.Jurisdiction, b.Jurisdiction, StringComparison.Ordinal), "jurisdiction");
        Check(a.AutoApproveTemplateOnly == b.AutoApproveTemplateOnly, "autoApproveTemplateOnly");
        Check(a.InvitationsEnabled == b.InvitationsEnabled, "invitationsEnabled");
        Check(a.AllowPrivateWebhookTargets == b.AllowPrivateWebhookTargets, "allowPrivateWebhookTargets");
        Check(a.RetentionMonths == b.RetentionMonths, "retentionMonths");
        Check(string.Equals(a.ContactText, b.ContactText, StringComparison.Ordinal), "contactText");
        Check(string.Equals(a.PrivacyText, b.PrivacyText, StringComparison.Ordinal), "privacyText");
        return fields;
    }

    private static SettingsResponse ToResponse(Tenant t, IReadOnlyCollection<DkimKey> dkimKeys, WebhookSecretBox box) => new(
        t.Id, t.Name, (int)t.Settings.CoolingOffDelay.TotalMinutes, t.Settings.RequestWindowDays, t.Settings.AnswerByDays, t.Settings.SenderName,
        t.Settings.SenderAddress, t.Settings.ReplyTo, t.Settings.DefaultLocale, t.Settings.Jurisdiction, t.Settings.AutoApproveTemplateOnly,
        t.Settings.InvitationsEnabled, t.Settings.AllowPrivateWebhookTargets, t.Settings.RetentionMonths, t.Settings.ContactText, t.Settings.PrivacyText,
        EmailFooter.For(t.Name, t.Settings), DkimSettingsResponse.From(dkimKeys, t.Settings, box));
}
