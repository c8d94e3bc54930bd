using FeedbackHub.Domain.Authoring;
using System.Collections.Concurrent;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Telemetry;

using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// A tenant's effective language rules (its jurisdiction pack plus its own changes), compiled once per change and
/// shared by every request: the tenant row's <c>LanguageRulesRevision</c> tells when to rebuild.
/// </summary>
public sealed class TenantLanguage(FeedbackHubMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<Guid, (int Revision, string Jurisdiction, RuleSet Rules, LanguageChecker Checker)> _cache = new();

    public async Task<(RuleSet Rules, LanguageChecker Checker)> ForTenantAsync(FeedbackHubDbContext db, Guid tenantId, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId)
            .Select(t => new { t.LanguageRulesRevision, t.Settings }).SingleAsync(ct);
        if (_cache.TryGetValue(tenantId, out var cached) && cached.Revision == tenant.LanguageRulesRevision && cached.Jurisdiction == tenant.Settings.Jurisdiction)
            return (cached.Rules, cached.Checker);

        var changes = TenantLanguageRule.ToChanges(await db.TenantLanguageRules.AsNoTracking().Where(r => r.TenantId == tenantId).ToListAsync(ct));
        var rules = RuleCatalog.Default.ForJurisdiction(tenant.Settings.Jurisdiction).With(changes);
        var checker = LanguageChecker.Create(rules);
        _cache[tenantId] = (tenant.LanguageRulesRevision, tenant.Settings.Jurisdiction, rules, checker);
        return (rules, checker);
    }

    /// <summary>Checks fields with the tenant's effective rules; findings carry their field's path.</summary>
    public async Task<IReadOnlyList<FieldFinding>> CheckAsync(FeedbackHubDbContext db, Guid tenantId, IEnumerable<(string Path, string Text)> fields, CancellationToken ct)
    {
        var (_, checker) = await ForTenantAsync(db, tenantId, ct);
        return Check(checker, fields, "fields");
    }

    /// <summary>Checks fields with a tenant's checker (from <see cref="ForTenantAsync"/>), timed by operation.</summary>
    public IReadOnlyList<FieldFinding> Check(LanguageChecker checker, IEnumerable<(string Path, string Text)> fields, string operation) =>
        Check(checker, fields, int.MaxValue, operation, out _);

    /// <summary>As <see cref="Check(LanguageChecker, IEnumerable{ValueTuple{string, string}}, string)"/>, keeping at most <paramref name="maxFindings"/>.</summary>
    public IReadOnlyList<FieldFinding> Check(
        LanguageChecker checker, IEnumerable<(string Path, string Text)> fields, int maxFindings, string operation, out bool truncated)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var findings = LanguageCheckers.CheckFields(checker, fields, maxFindings, out truncated);
        metrics?.LanguageCheck(System.Diagnostics.Stopwatch.GetElapsedTime(started), operation);
        return findings;
    }
}
