using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.Language;

/// <summary><c>engine</c>: <c>full</c> (default: rules and the sentence model) or <c>rules</c> (the rule catalog only, faster).</summary>
public sealed record CheckTextRequest([FreeText] string Text, LanguageEngine? Engine = null);

/// <summary><c>engine</c>: which engine ran. <c>truncated</c>: the text has more findings than the <see cref="LanguageEndpoints.MaxFindingsPerText"/> shown (fix these and check again).</summary>
public sealed record CheckTextResponse(IReadOnlyList<FindingResponse> Findings, bool Blocking, bool Truncated, LanguageEngine Engine);

public sealed record CheckBatchItem(string Id, [FreeText] string Text);

/// <summary><c>engine</c>: <c>full</c> (default: rules and the sentence model) or <c>rules</c> (the rule catalog only, faster).</summary>
public sealed record CheckBatchRequest(IReadOnlyList<CheckBatchItem> Items, LanguageEngine? Engine = null);

public sealed record CheckBatchResult(string Id, IReadOnlyList<FindingResponse> Findings, bool Truncated);

/// <summary><c>engine</c>: which engine ran. <c>truncated</c>: some item has more findings than shown (per item at most 100, per batch at most 1,000).</summary>
public sealed record CheckBatchResponse(IReadOnlyList<CheckBatchResult> Results, bool Truncated, LanguageEngine Engine);

public sealed record RuleResponse(string Id, string Category, Severity Severity, string Source, IReadOnlyList<string> Patterns, string Reason, string Suggestion);

public sealed record RulesResponse(string CatalogVersion, [property: ApiValues(typeof(JurisdictionCodes))] string Jurisdiction, IReadOnlyList<string> Categories, IReadOnlyList<RuleResponse> Rules, IReadOnlyList<string> AllowedPhrases);

/// <summary>A tenant change: kind <c>term</c> (category, phrase, severity, reason, suggestion), <c>allowedPhrase</c> (phrase) or <c>disabledRule</c> (ruleId).</summary>
public sealed record TenantRuleRequest(
    TenantLanguageRuleKind Kind, string? Category = null, string? Phrase = null, Severity? Severity = null, [FreeText] string? Reason = null, [FreeText] string? Suggestion = null, string? RuleId = null);

public sealed record TenantRuleResponse(
    Guid Id, TenantLanguageRuleKind Kind, string Key, string? Category, string? Phrase, Severity? Severity, string? Reason, string? Suggestion, DateTimeOffset CreatedAt, string CreatedBy);

public static class LanguageEndpoints
{
    public const int MaxBatchItems = 1000;

    /// <summary>Findings shown per text; a text with more answers <c>truncated: true</c> (bounds the answer's size).</summary>
    public const int MaxFindingsPerText = 100;

    /// <summary>Findings shown per batch in all; items after the limit is reached show none and <c>truncated: true</c>.</summary>
    public const int MaxFindingsPerBatch = 1000;

    public static IEndpointRouteBuilder MapLanguageEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/language").WithTags("Language");
        group.MapPost("/check", CheckText).WithName("CheckText").RequireAuthorization()
            .WithSummary("Check one text for risky wording")
            .WithDescription("Any role. Uses the tenant's effective rules (jurisdiction pack plus its changes). `engine`: `full` (default) runs the rules and the on-device sentence model; `rules` runs the rule catalog only; the answer's `engine` says which ran. Each finding has the rule, category, severity (block/warn), the span (start, length in UTF-16 units), the matched text, the reason and a safer suggestion. Model findings have `ruleId` `model.<category>`, cover their sentence, and carry `confidence` and the nearest labelled training `example`; a rule finding the model reads as job-related may come back as `warn` with the same fields. At most 100 findings are shown, in text order; `truncated: true` says there are more.")
            .WithRequestExample(new CheckTextRequest("Strong SQL skills. At his age, though, he may not keep up with the team."))
            .ProducesAuthProblems().ProducesProblems(413);
        group.MapPost("/check-batch", CheckBatch).WithName("CheckTextBatch").RequireAuthorization()
            .WithSummary("Check up to 1,000 texts")
            .WithDescription("Any role. `engine` as for /v1/language/check (default `full`; the answer says which ran). Results come back in the order of the items, with their ids. At most 100 findings per item and 1,000 per batch are shown; `truncated` (per item and for the batch) says some were left out.")
            .WithRequestExample(new CheckBatchRequest([new("intro", "Thank you for interviewing with us."), new("comment-1", "Not a culture fit.")]))
            .ProducesAuthProblems().ProducesProblems(413, 422);
        group.MapGet("/rules", GetRules).WithName("GetLanguageRules").RequireAuthorization()
            .WithSummary("The tenant's effective rule catalog").WithDescription("Any role.")
            .ProducesAuthProblems();
        group.MapGet("/tenant-rules", ListTenantRules).WithName("ListTenantLanguageRules").RequireAuthorization(Policies.LanguageRuleReaders)
            .WithSummary("The tenant's changes to its rule pack").WithDescription("Roles `admin`, `legal`, `recruiter`. Oldest first, cursor paged.")
            .ProducesAuthProblems();
        group.MapPost("/tenant-rules", AddTenantRule).WithName("AddTenantLanguageRule").RequireAuthorization(Policies.LanguageRuleEditors)
            .WithSummary("Add a term, allow a phrase, or disable a rule")
            .WithDescription("Roles `admin`, `legal`. Audited. `kind`: `term` (with `category`, `phrase`, `severity`, `reason`, `suggestion`), `allowedPhrase` (with `phrase`) or `disabledRule` (with `ruleId`). Takes effect on the next check.")
            .WithRequestExample(new TenantRuleRequest(TenantLanguageRuleKind.Term, Category: "comparison", Phrase: "Project Falcon", Severity: Severity.Block,
                Reason: "Codename of a confidential search; naming it reveals other candidates.", Suggestion: "Describe the skills the role needs instead."))
            .WithIdempotency().ProducesAuthProblems().ProducesProblems(409, 422);
        group.MapDelete("/tenant-rules/{id}", RemoveTenantRule).WithName("RemoveTenantLanguageRule").RequireAuthorization(Policies.LanguageRuleEditors)
            .WithSummary("Undo a tenant change").WithDescription("Roles `admin`, `legal`. Audited.")
            .ProducesAuthProblems().ProducesProblems(404);
        return app;
    }

    public static async Task<Ok<CheckTextResponse>> CheckText(CheckTextRequest request, CurrentActor caller, FeedbackHubDbContext db, TenantLanguage language, CancellationToken ct)
    {
        var engine = request.Engine ?? LanguageEngine.Full;
        var checker = await language.CheckerAsync(db, caller.TenantId, engine, ct);
        var findings = language.Check(checker, [("text", request.Text)], MaxFindingsPerText, "check", out var truncated);
        return TypedResults.Ok(new CheckTextResponse(FindingResponse.From(findings), findings.Any(f => f.Finding.Severity == Severity.Block), truncated, engine));
    }

    public static async Task<Ok<CheckBatchResponse>> CheckBatch(CheckBatchRequest request, CurrentActor caller, FeedbackHubDbContext db, TenantLanguage language, CancellationToken ct)
    {
        if (request.Items.Count is 0 or > MaxBatchItems)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The batch is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["items"] = [$"Send 1 to {MaxBatchItems} items."] },
            };
        }

        var engine = request.Engine ?? LanguageEngine.Full;
        var checker = await language.CheckerAsync(db, caller.TenantId, engine, ct);

        // The full engine embeds all items' sentences together (batched); the limits are applied afterwards, in item order.
        var all = language.CheckMany(checker, [.. request.Items.Select(i => i.Text ?? string.Empty)], MaxFindingsPerText, "batch");
        var left = MaxFindingsPerBatch;
        var results = new List<CheckBatchResult>(request.Items.Count);
        for (var i = 0; i < request.Items.Count; i++)
        {
            var limit = Math.Min(MaxFindingsPerText, left);
            var shown = all[i].Take(limit).Select(f => new FieldFinding("text", f)).ToList();
            left -= shown.Count;
            results.Add(new CheckBatchResult(request.Items[i].Id, FindingResponse.From(shown), all[i].Count > limit));
        }

        return TypedResults.Ok(new CheckBatchResponse(results, results.Any(r => r.Truncated), engine));
    }

    public static async Task<Ok<RulesResponse>> GetRules(CurrentActor caller, FeedbackHubDbContext db, TenantLanguage language, CancellationToken ct)
    {
        var (rules, _) = await language.ForTenantAsync(db, caller.TenantId, ct);
        return TypedResults.Ok(new RulesResponse(
            rules.Catalog.Version, rules.Jurisdiction, rules.Catalog.Categories,
            rules.Rules.Select(r => new RuleResponse(r.Id, r.Category, r.Severity, r.Id.StartsWith("tenant.", StringComparison.Ordinal) ? "tenant" : "catalog", r.Patterns, r.Reason, r.Suggestion)).ToList(),
            rules.AllowedPhrases));
    }

    public static async Task<Ok<Page<TenantRuleResponse>>> ListTenantRules(int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.TenantLanguageRules.AsNoTracking().PageByIdAsync(r => r.Id, limit, after, ToResponse, ct));

    public static async Task<Created<TenantRuleResponse>> AddTenantRule(
        TenantRuleRequest request, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TenantLanguage language, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var rule = request.Kind switch
        {
            TenantLanguageRuleKind.Term => TenantLanguageRule.Term(caller.TenantId, request.Category ?? string.Empty, request.Phrase ?? string.Empty,
                request.Severity ?? Severity.Warn, request.Reason ?? string.Empty, request.Suggestion ?? string.Empty, caller.Actor, now),
            TenantLanguageRuleKind.AllowedPhrase => TenantLanguageRule.Allow(caller.TenantId, request.Phrase ?? string.Empty, caller.Actor, now),
            _ => TenantLanguageRule.Disable(caller.TenantId, request.RuleId ?? string.Empty, caller.Actor, now),
        };

        // Prove the change compiles into a valid rule set (unknown category or rule id, duplicate term) before storing it.
        var existing = await db.TenantLanguageRules.AsNoTracking().ToListAsync(ct);
        if (existing.Any(r => r.Kind == rule.Kind && r.Key == rule.Key))
            throw DomainException.Conflict("language-rule-exists", "This change is already in the tenant's rules.");
        var (current, _) = await language.ForTenantAsync(db, caller.TenantId, ct);
        try
        {
            RuleCatalog.Default.ForJurisdiction(current.Jurisdiction).With(TenantLanguageRule.ToChanges([.. existing, rule]));
        }
        catch (ArgumentException e)
        {
            throw DomainException.Invalid("invalid-language-rule", e.Message.Split(" (Parameter", 2)[0]);
        }

        db.TenantLanguageRules.Add(rule);
        var tenant = await db.Tenants.SingleAsync(t => t.Id == caller.TenantId, ct);
        tenant.LanguageRulesChanged();
        audit.Record(caller.TenantId, caller.Actor, "language-rule.added", "language-rule", rule.Id,
            new { kind = rule.Kind.ToString(), category = rule.Category, ruleId = rule.Kind == TenantLanguageRuleKind.DisabledRule ? rule.Key : null });
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/language/tenant-rules/{rule.Id}", ToResponse(rule));
    }

    public static async Task<NoContent> RemoveTenantRule(Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, CancellationToken ct)
    {
        var rule = await db.TenantLanguageRules.SingleOrDefaultAsync(r => r.Id == id, ct) ?? throw DomainException.NotFound("The language rule change");
        db.TenantLanguageRules.Remove(rule);
        (await db.Tenants.SingleAsync(t => t.Id == caller.TenantId, ct)).LanguageRulesChanged();
        audit.Record(caller.TenantId, caller.Actor, "language-rule.removed", "language-rule", rule.Id, new { kind = rule.Kind.ToString() });
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static TenantRuleResponse ToResponse(TenantLanguageRule r) =>
        new(r.Id, r.Kind, r.Key, r.Category, r.Phrase, r.Severity, r.Reason, r.Suggestion, r.CreatedAt, r.CreatedBy);
}
