using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Templates;

public sealed class TemplateLifecycleTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    internal static TemplateRequest Request(string? intro = null, string? name = null)
    {
        var (exampleName, c) = ExampleTemplates.Engineering;
        return TemplateRequest.From(name ?? exampleName, "en", c) with { Intro = intro ?? c.Intro };
    }

    [Fact]
    public async Task Draft_is_refused_for_publishing_with_a_risky_phrase_then_published_by_legal_once_fixed()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        var legal = await tenant.ClientAsync("legal");

        var risky = Request(intro: "Dear {{candidate.first_name}}, we were looking for a digital native and a culture fit for {{position.title}}.");
        var created = await (await recruiter.PostJsonAsync("/v1/templates", risky)).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        Assert.Equal(TemplateVersionStatus.Draft, created.Status);
        Assert.Contains(created.Findings, f => f.Path == "intro");

        await (await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null)).ReadAsync<TemplateVersionResponse>();
        var refused = await (await legal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "language-blocked");
        var findings = refused.GetProperty("findings").EnumerateArray().ToList();
        Assert.Contains(findings, f => f.GetProperty("path").GetString() == "intro" && f.GetProperty("severity").GetString() == "block");
        Assert.All(findings, f => Assert.False(string.IsNullOrEmpty(f.GetProperty("suggestion").GetString())));

        var fixedDraft = await (await recruiter.PutAsync($"/v1/templates/{created.TemplateId}/draft", HttpAssertions.JsonBody(Request())))
            .ReadAsync<TemplateVersionResponse>();
        Assert.Equal(1, fixedDraft.Number); // still version 1: it was never published
        Assert.Equal(TemplateVersionStatus.Draft, fixedDraft.Status);
        await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        var published = await (await legal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).ReadAsync<TemplateVersionResponse>();
        Assert.Equal(TemplateVersionStatus.Published, published.Status);
        Assert.DoesNotContain(published.Findings, f => f.Severity == Domain.Language.Severity.Block);
    }

    [Fact]
    public async Task Deciding_criteria_must_be_keys_of_the_templates_criteria_and_decision_text_is_checked_like_other_text()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        var invalid = Request() with { DecidingCriteria = ["problem-solving", "charisma", "problem-solving", "code-quality"], DecisionText = "In short: {{candidate.age}}." };
        var problem = await (await recruiter.PostJsonAsync("/v1/templates", invalid)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-template");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("decidingCriteria", out _)); // more than 3
        Assert.True(errors.TryGetProperty("decidingCriteria[1]", out _)); // not a criterion
        Assert.True(errors.TryGetProperty("decidingCriteria[2]", out _)); // twice
        Assert.True(errors.TryGetProperty("decisionText", out _)); // unknown merge field

        var risky = Request() with { DecisionText = "For {{position.title}} we wanted a digital native, and these counted most:" };
        var created = await (await recruiter.PostJsonAsync("/v1/templates", risky)).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        Assert.Equal(["problem-solving", "system-design"], created.Content.DecidingCriteria);
        Assert.Contains(created.Findings, f => f.Path == "decisionText" && f.Severity == Domain.Language.Severity.Block);
        await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        var refused = await (await (await tenant.ClientAsync("legal")).PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "language-blocked");
        Assert.Contains(refused.GetProperty("findings").EnumerateArray(), f => f.GetProperty("path").GetString() == "decisionText");
    }

    [Fact]
    public async Task Publishing_by_the_author_is_forbidden()
    {
        var tenant = await api.CreateTenantAsync();
        var legalAuthor = await tenant.ClientAsync("legal");
        var created = await (await legalAuthor.PostJsonAsync("/v1/templates", Request())).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        await legalAuthor.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null);
        await (await legalAuthor.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "own-template");
        var otherLegal = await tenant.ClientAsync("legal");
        Assert.Equal(HttpStatusCode.OK, (await otherLegal.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).StatusCode);
    }

    [Fact]
    public async Task Editing_a_published_template_starts_a_new_draft_and_the_published_version_never_changes()
    {
        var tenant = await api.CreateTenantAsync();
        var id = await PublishedTemplateAsync(tenant);
        var recruiter = await tenant.ClientAsync("recruiter");
        var v2 = await (await recruiter.PutAsync($"/v1/templates/{id}/draft", HttpAssertions.JsonBody(Request(name: "Engineering v2")))).ReadAsync<TemplateVersionResponse>();
        Assert.Equal(2, v2.Number);
        var v1 = await (await recruiter.GetAsync($"/v1/templates/{id}/versions/1")).ReadAsync<TemplateVersionResponse>();
        Assert.Equal(TemplateVersionStatus.Published, v1.Status);
        Assert.Equal(ExampleTemplates.Engineering.Content.Intro, v1.Content.Intro);

        await recruiter.PostAsync($"/v1/templates/{id}/versions/2/submit", null);
        await (await (await tenant.ClientAsync("legal")).PostAsync($"/v1/templates/{id}/versions/2/publish", null)).ReadAsync<TemplateVersionResponse>();
        var template = await (await recruiter.GetAsync($"/v1/templates/{id}")).ReadAsync<TemplateResponse>();
        Assert.Equal(2, template.PublishedVersion);
        Assert.Equal([TemplateVersionStatus.Retired, TemplateVersionStatus.Published], template.Versions.Select(v => v.Status));
    }

    [Fact]
    public async Task Unknown_merge_fields_are_rejected_with_their_path()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        var problem = await (await recruiter.PostJsonAsync("/v1/templates", Request(intro: "Hi {{candidate.age}}, thanks.")))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-template");
        var errors = problem.GetProperty("errors");
        Assert.Contains("candidate.age", errors.GetProperty("intro")[0].GetString(), StringComparison.Ordinal);
        await using var db = api.Database.CreateDbContext();
        Assert.Empty(db.Templates.Where(t => t.TenantId == tenant.Id));
    }

    [Fact]
    public async Task Invalid_structure_lists_every_problem_by_path()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        var c = ExampleTemplates.Engineering.Content;
        var broken = new TemplateRequest("x", "english", c.Subject, c.Intro, c.Outro,
            [c.Criteria[0] with { Key = "Bad Key", Bands = [c.Criteria[0].Bands[0]] }, c.Criteria[1] with { Key = c.Criteria[1].Key }, c.Criteria[1]]);
        var problem = await (await recruiter.PostJsonAsync("/v1/templates", broken)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        var paths = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.True(paths.Count >= 4, string.Join(", ", paths));
        Assert.Contains("locale", paths);
        Assert.Contains("criteria[0].key", paths);
        Assert.Contains("criteria[0].bands", paths);
        Assert.Contains("criteria[2].key", paths); // duplicate key
    }

    [Theory]
    [InlineData("admin", HttpStatusCode.Forbidden, HttpStatusCode.OK)]
    [InlineData("recruiter", HttpStatusCode.Created, HttpStatusCode.OK)]
    [InlineData("interviewer", HttpStatusCode.Forbidden, HttpStatusCode.OK)]
    [InlineData("legal", HttpStatusCode.Created, HttpStatusCode.OK)]
    [InlineData("integration", HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)]
    public async Task Roles_for_creating_and_reading_templates(string role, HttpStatusCode create, HttpStatusCode read)
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync(role);
        Assert.Equal(create, (await client.PostJsonAsync("/v1/templates", Request())).StatusCode);
        Assert.Equal(read, (await client.GetAsync("/v1/templates")).StatusCode);
    }

    [Theory]
    [InlineData("recruiter")]
    [InlineData("interviewer")]
    [InlineData("admin")]
    [InlineData("integration")]
    public async Task Only_legal_publishes_and_retires(string role)
    {
        var tenant = await api.CreateTenantAsync();
        var id = await PublishedTemplateAsync(tenant);
        var client = await tenant.ClientAsync(role);
        await (await client.PostAsync($"/v1/templates/{id}/versions/1/retire", null)).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsync($"/v1/templates/{id}/versions/1/publish", null)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Another_tenants_template_answers_404_everywhere()
    {
        var mine = await api.CreateTenantAsync();
        var theirs = await api.CreateTenantAsync();
        var id = await PublishedTemplateAsync(theirs);
        var legal = await mine.ClientAsync("legal");
        await (await legal.GetAsync($"/v1/templates/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await legal.GetAsync($"/v1/templates/{id}/versions/1")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await legal.PutAsync($"/v1/templates/{id}/draft", HttpAssertions.JsonBody(Request()))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await legal.PostAsync($"/v1/templates/{id}/versions/1/retire", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        var page = await (await legal.GetAsync("/v1/templates")).ReadAsync<Page<TemplateSummary>>();
        Assert.Empty(page.Items);
    }

    [Fact]
    public async Task Same_idempotency_key_and_body_replays_the_first_answer_and_another_body_answers_422()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        recruiter.DefaultRequestHeaders.Add("Idempotency-Key", "create-eng-1");
        var first = await recruiter.PostJsonAsync("/v1/templates", Request());
        var firstBody = await first.ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        var second = await recruiter.PostJsonAsync("/v1/templates", Request());
        var secondBody = await second.ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        Assert.Equal(firstBody.TemplateId, secondBody.TemplateId);
        Assert.Equal("true", second.Headers.GetValues("Idempotency-Replayed").Single());
        Assert.Equal(first.Headers.Location, second.Headers.Location);

        await (await recruiter.PostJsonAsync("/v1/templates", Request(name: "Other"))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await using var db = api.Database.CreateDbContext();
        Assert.Single(db.Templates.Where(t => t.TenantId == tenant.Id));
    }

    [Fact]
    public async Task Idempotency_keys_are_per_tenant()
    {
        var a = await (await api.CreateTenantAsync()).ClientAsync("recruiter");
        var b = await (await api.CreateTenantAsync()).ClientAsync("recruiter");
        a.DefaultRequestHeaders.Add("Idempotency-Key", "same-key");
        b.DefaultRequestHeaders.Add("Idempotency-Key", "same-key");
        var ra = await (await a.PostJsonAsync("/v1/templates", Request())).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        var rb = await (await b.PostJsonAsync("/v1/templates", Request())).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        Assert.NotEqual(ra.TemplateId, rb.TemplateId);
    }

    [Fact]
    public async Task Every_step_is_audited_and_the_chain_verifies()
    {
        var tenant = await api.CreateTenantAsync();
        var id = await PublishedTemplateAsync(tenant);
        await (await tenant.ClientAsync("legal")).PostAsync($"/v1/templates/{id}/versions/1/retire", null);
        var events = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<Features.Audit.AuditEventResponse>>();
        Assert.Equal(["template.created", "template.submitted", "template.published", "template.retired"],
            events.Items.Where(e => e.SubjectType == "template").Select(e => e.Action));
        Assert.True((await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<Features.Audit.AuditVerification>()).Valid);
    }

    internal static async Task<Guid> PublishedTemplateAsync(TestTenant tenant)
    {
        var recruiter = await tenant.ClientAsync("recruiter");
        var created = await (await recruiter.PostJsonAsync("/v1/templates", Request())).ReadAsync<TemplateVersionResponse>(HttpStatusCode.Created);
        (await recruiter.PostAsync($"/v1/templates/{created.TemplateId}/versions/1/submit", null)).EnsureSuccessStatusCode();
        (await (await tenant.ClientAsync("legal")).PostAsync($"/v1/templates/{created.TemplateId}/versions/1/publish", null)).EnsureSuccessStatusCode();
        return created.TemplateId;
    }

}
