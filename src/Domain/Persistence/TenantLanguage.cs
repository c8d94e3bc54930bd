using FeedbackHub.Domain.Authoring;
using System.Collections.Concurrent;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Telemetry;

using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// A tenant's effective language rules (its jurisdiction pack plus its own changes), compiled once per change and
/// shared by every request: the tenant row's <c>LanguageRulesRevision</c> tells when to rebuild. Each tenant has both
/// engines: the rules, and the full engine (rules and the sentence model, which loads once per process on first use).
/// </summary>
/// <param name="semantic">The sentence model of the full engine.</param>
/// <param name="metrics">Times each check by operation, when given.</param>
public sealed class TenantLanguage(ISentenceClassifier semantic, FeedbackHubMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<Guid, (int Revision, string Jurisdiction, RuleSet Rules, LanguageChecker Checker, FullLanguageChecker Full)> _cache = new();

    public async Task<(RuleSet Rules, LanguageChecker Checker)> ForTenantAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct)
    {
        var entry = await EntryAsync(db, tenantId, null, ct);
        return (entry.Rules, entry.Checker);
    }

    /// <summary>The tenant's checker for an engine.</summary>
    public async Task<ITextChecker> CheckerAsync(FeedbackHubDbContext db, Guid tenantId, LanguageEngine engine, CancellationToken ct)
    {
        var entry = await EntryAsync(db, tenantId, null, ct);
        return engine == LanguageEngine.Rules ? entry.Checker : entry.Full;
    }

    /// <summary>The tenant's checker for an engine, when the caller already read the tenant's revision and settings
    /// (in the same query as its own row): no round trip while the cached checker is current.</summary>
    public async Task<ITextChecker> CheckerAsync(FeedbackHubDbContext db, Guid tenantId, TenantLanguageState tenant, LanguageEngine engine, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var entry = await EntryAsync(db, tenantId, tenant, ct);
        return engine == LanguageEngine.Rules ? entry.Checker : entry.Full;
    }

    /// <summary>Checks fields with the tenant's effective rules and the given engine (default full); findings carry their field's path.</summary>
    public async Task<IReadOnlyList<FieldFinding>> CheckAsync(
        FeedbackHubDbContext db, Guid tenantId, IEnumerable<(string Path, string Text)> fields, CancellationToken ct, LanguageEngine engine = LanguageEngine.Full) =>
        Check(await CheckerAsync(db, tenantId, engine, ct), fields, "fields");

    /// <summary>Checks fields with a tenant's checker (from <see cref="CheckerAsync"/>), timed by operation.</summary>
    public IReadOnlyList<FieldFinding> Check(ITextChecker checker, IEnumerable<(string Path, string Text)> fields, string operation) =>
        Check(checker, fields, int.MaxValue, operation, out _);

    /// <summary>As <see cref="Check(ITextChecker, IEnumerable{ValueTuple{string, string}}, string)"/>, keeping at most <paramref name="maxFindings"/>.</summary>
    public IReadOnlyList<FieldFinding> Check(
        ITextChecker checker, IEnumerable<(string Path, string Text)> fields, int maxFindings, string operation, out bool truncated)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var findings = LanguageCheckers.CheckFields(checker, fields, maxFindings, out truncated);
        metrics?.LanguageCheck(System.Diagnostics.Stopwatch.GetElapsedTime(started), operation);
        return findings;
    }

    /// <summary>Checks several texts with one checker, timed by operation: the full engine embeds all their sentences
    /// together (batched); the rules keep at most <paramref name="maxPerText"/> + 1 findings a text (to tell truncation).</summary>
    public IReadOnlyList<IReadOnlyList<Finding>> CheckMany(ITextChecker checker, IReadOnlyList<string> texts, int maxPerText, string operation)
    {
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(texts);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        IReadOnlyList<IReadOnlyList<Finding>> all = checker is FullLanguageChecker full
            ? full.CheckMany(texts)
            : [.. texts.Select(t => checker.Check(t, maxPerText + 1, out _))];
        metrics?.LanguageCheck(System.Diagnostics.Stopwatch.GetElapsedTime(started), operation);
        return all;
    }

    private async Task<(int Revision, string Jurisdiction, RuleSet Rules, LanguageChecker Checker, FullLanguageChecker Full)> EntryAsync(
        FeedbackHubDbContext db, Guid tenantId, TenantLanguageState? known, CancellationToken ct)
    {
        var tenant = known ?? await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId)
            .Select(t => new TenantLanguageState(t.LanguageRulesRevision, t.Settings)).SingleAsync(ct);
        if (_cache.TryGetValue(tenantId, out var cached) && cached.Revision == tenant.LanguageRulesRevision && cached.Jurisdiction == tenant.Settings.Jurisdiction)
            return cached;

        var changes = TenantLanguageRule.ToChanges(await db.TenantLanguageRules.AsNoTracking().Where(r => r.TenantId == tenantId).ToListAsync(ct));
        var rules = RuleCatalog.Default.ForJurisdiction(tenant.Settings.Jurisdiction).With(changes);
        var checker = LanguageChecker.Create(rules);
        var entry = (tenant.LanguageRulesRevision, tenant.Settings.Jurisdiction, rules, checker, FullLanguageChecker.Create(checker, semantic));
        _cache[tenantId] = entry;
        return entry;
    }
}

/// <summary>What decides whether a tenant's compiled checker is current: its rules revision and its settings (jurisdiction).</summary>
public sealed record TenantLanguageState(int LanguageRulesRevision, TenantSettings Settings);
