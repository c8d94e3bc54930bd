using System.Collections.Concurrent;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Templates;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.Authoring;

/// <summary>
/// The content of the template versions feedback is written against, cached by (tenant, template, version): a published
/// (or retired) version never changes, so every save, submit and approve after the first reads it from memory. A draft
/// or one in review is never cached. Bounded: past <see cref="Capacity"/> entries the cache starts over.
/// </summary>
public sealed class PublishedTemplateContent
{
    public const int Capacity = 5000;

    private readonly ConcurrentDictionary<(Guid TenantId, Guid TemplateId, int Number), TemplateContent> _cache = new();

    public async Task<TemplateContent> GetAsync(FeedbackHubDbContext db, Guid tenantId, Guid templateId, int number, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (_cache.TryGetValue((tenantId, templateId, number), out var cached))
            return cached;
        // Through the tenant filter: a version is only ever cached under the tenant that can read it.
        var version = await db.TemplateVersions.AsNoTracking()
            .Where(v => v.TenantId == tenantId && v.TemplateId == templateId && v.Number == number)
            .Select(v => new { v.Content, v.Status }).SingleAsync(ct);
        if (version.Status is TemplateVersionStatus.Published or TemplateVersionStatus.Retired)
        {
            if (_cache.Count >= Capacity)
                _cache.Clear();
            _cache[(tenantId, templateId, number)] = version.Content;
        }

        return version.Content;
    }

    internal int Count => _cache.Count;
}
