using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
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
/// feedback email ends with, defaults included.
/// </summary>
public sealed record SettingsResponse(
    Guid TenantId, string Name, int CoolingOffMinutes, int RequestWindowDays, int AnswerByDays, string SenderName, string SenderAddress,
    string? ReplyTo, string DefaultLocale, [property: ApiValues(typeof(JurisdictionCodes))] string Jurisdiction, bool AutoApproveTemplateOnly, bool InvitationsEnabled,
    bool AllowPrivateWebhookTargets, int RetentionMonths, string? ContactText, string? PrivacyText, EmailFooter EmailFooter);

/// <summary>
/// A partial change: omitted (or null) fields keep their value; <c>replyTo: ""</c> removes the reply-to address;
/// <c>contactText: ""</c> and <c>privacyText: ""</c> go back to the default texts.
/// </summary>
public sealed record ChangeSettingsRequest(
    int? CoolingOffMinutes = null, int? RequestWindowDays = null, int? AnswerByDays = null, string? SenderName = null, string? SenderAddress = null,
    string? ReplyTo = null, string? DefaultLocale = null, [property: ApiValues(typeof(JurisdictionCodes))] string? Jurisdiction = null, bool? AutoApproveTemplateOnly = null,
    bool? InvitationsEnabled = null, bool? AllowPrivateWebhookTargets = null, int? RetentionMonths = null,
    [FreeText] string? ContactText = null, [FreeText] string? PrivacyText = null);

public static class SettingsEndpoints
{
    public static IEndpointRouteBuilder MapSettingsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/settings").WithTags("Settings");

        group.MapGet("/", GetSettings).WithName("GetSettings")
            .RequireAuthorization(Policies.AuditReaders)
            .WithSummary("Get the tenant's settings")
            .WithDescription("Roles `admin`, `legal`. Cooling-off delay, request window, sender, jurisdiction pack, invitations, retention, webhook targets.")
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
                """)
            .WithRequestExample(new ChangeSettingsRequest(CoolingOffMinutes: 2880, RetentionMonths: 6, ContactText: "Questions? Write to talent@acme.example."))
            .ProducesAuthProblems().ProducesProblems(422);
        return app;
    }

    public static async Task<Ok<SettingsResponse>> GetSettings(CurrentActor caller, FeedbackHubDbContext db, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().SingleAsync(t => t.Id == caller.TenantId, ct);
        return TypedResults.Ok(ToResponse(tenant));
    }

    public static async Task<Ok<SettingsResponse>> ChangeSettings(
        ChangeSettingsRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, IOptions<TenantSettingsOptions> options,
        CancellationToken ct)
    {
        var tenant = await db.Tenants.SingleAsync(t => t.Id == caller.TenantId, ct);
        var current = tenant.Settings;
        var errors = new Dictionary<string, string[]>();
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
        if (fields.Count > 0)
        {
            tenant.ChangeSettings(changed);
            await CheckFooterLanguageAsync(language, db, caller.TenantId, current, changed, ct);
            audit.Record(caller.TenantId, caller.Actor, "tenant.settings-changed", "tenant", caller.TenantId, new { fields });
            await db.SaveChangesAsync(ct);
        }

        return TypedResults.Ok(ToResponse(tenant));
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

    private static SettingsResponse ToResponse(Tenant t) => new(
        t.Id, t.Name, (int)t.Settings.CoolingOffDelay.TotalMinutes, t.Settings.RequestWindowDays, t.Settings.AnswerByDays, t.Settings.SenderName,
        t.Settings.SenderAddress, t.Settings.ReplyTo, t.Settings.DefaultLocale, t.Settings.Jurisdiction, t.Settings.AutoApproveTemplateOnly,
        t.Settings.InvitationsEnabled, t.Settings.AllowPrivateWebhookTargets, t.Settings.RetentionMonths, t.Settings.ContactText, t.Settings.PrivacyText,
        EmailFooter.For(t.Name, t.Settings));
}
