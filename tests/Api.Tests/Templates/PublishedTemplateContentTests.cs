using FeedbackHub.Domain.Authoring;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Templates;

/// <summary>The cache of template content behind save, submit and preview: published versions only, per tenant.</summary>
public sealed class PublishedTemplateContentTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task A_published_version_is_read_once_and_a_draft_every_time()
    {
        var tenant = await api.CreateTenantAsync();
        var templateId = await TemplateLifecycleTests.PublishedTemplateAsync(tenant);
        (await (await tenant.ClientAsync("recruiter")).PutAsync($"/v1/templates/{templateId}/draft", HttpAssertions.JsonBody(TemplateLifecycleTests.Request())))
            .EnsureSuccessStatusCode(); // version 2, a draft
        var cache = new PublishedTemplateContent();
        await using var db = api.Database.CreateDbContext();

        var published = await cache.GetAsync(db, tenant.Id, templateId, 1, CancellationToken.None);
        var draft = await cache.GetAsync(db, tenant.Id, templateId, 2, CancellationToken.None);
        Assert.Equal(1, cache.Count);

        // Changed behind the application's back (it never changes a published version): the cache still answers the
        // version as published; the draft is read again and shows the change.
        await api.Database.ExecuteAsync($"UPDATE template_versions SET content = jsonb_set(content, '{{subject}}', '\"Changed\"') WHERE template_id = '{templateId}'");
        Assert.Equal(published.Subject, (await cache.GetAsync(db, tenant.Id, templateId, 1, CancellationToken.None)).Subject);
        Assert.Equal("Changed", (await cache.GetAsync(db, tenant.Id, templateId, 2, CancellationToken.None)).Subject);
        Assert.NotEqual("Changed", draft.Subject);

        // Another tenant asking for the same ids gets nothing from the cache.
        var other = await api.CreateTenantAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(db, other.Id, templateId, 1, CancellationToken.None));
    }
}
