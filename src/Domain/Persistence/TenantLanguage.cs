using FeedbackHub.Domain.Authoring;
using System.Collections.Concurrent;
using FeedbackHub.Domain.Language;

using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// A tenant's effective language rules (its jurisdiction pack plus its own changes), compiled once per change and
/// shared by every request: the tenant row's <c>LanguageRulesRevision</c> tells when to rebuild. Each tenant has both
/// engines: the rules, and the full engine (rules and the sentence model, which loads once per process on first use).
/// </summary>
/// <param name="semantic">The sentence model of the full engine.</param>
public sealed class TenantLanguage(ISentenceClassifier semantic)
{
    private readonly ConcurrentDictionary<Guid, (int Revision, string Jurisdiction, RuleSet Rules, LanguageChecker Checker, FullLanguageChecker Full)> _cache = new();

    public async Task<(RuleSet Rules, LanguageChecker Checker)> ForTenantAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct)
    {
        var entry = await EntryAsync(db, tenantId, ct);
        return (entry.Rules, entry.Checker);
    }

    /// <summary>The tenant's checker for an engine.</summary>
    public async Task<ITextChecker> CheckerAsync(FeedbackHubDbContext db, Guid tenantId, LanguageEngine engine, CancellationToken ct)
    {
        var entry = await EntryAsync(db, tenantId, ct);
        return engine == LanguageEngine.Rules ? entry.Checker : entry.Full;
    }

    /// <summary>Checks fields with the tenant's effective rules and the given engine (default full); findings carry their field's path.</summary>
    public async Task<IReadOnlyList<FieldFinding>> CheckAsync(
        FeedbackHubDbContext db, Guid tenantId, IEnumerable<(string Path, string Text)> fields, CancellationToken ct, LanguageEngine engine = LanguageEngine.Full) =>
        LanguageCheckers.CheckFields(await CheckerAsync(db, tenantId, engine, ct), fields);

    private async Task<(int Revision, string Jurisdiction, RuleSet Rules, LanguageChecker Checker, FullLanguageChecker Full)> EntryAsync(
        FeedbackHubDbContext db, Guid tenantId, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId)
            .Select(t => new { t.LanguageRulesRevision, t.Settings }).SingleAsync(ct);
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
