using System.Net;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Language;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Language;

public sealed class LanguageEndpointTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Check_finds_risky_wording_with_span_reason_and_suggestion()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("interviewer");
        const string text = "Solid SQL with UNION ALL. At his age, though, he may not keep up.";
        var result = await (await client.PostJsonAsync("/v1/language/check", new { text })).ReadAsync<CheckTextResponse>();
        var finding = Assert.Single(result.Findings);
        Assert.Equal("age", finding.Category);
        Assert.Equal(Severity.Block, finding.Severity);
        Assert.Equal(finding.Match, text.Substring(finding.Start, finding.Length));
        Assert.True(result.Blocking);
        Assert.False(string.IsNullOrEmpty(finding.Suggestion));
    }

    [Fact]
    public async Task Batch_answers_each_item_by_id_and_refuses_more_than_1000()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("integration");
        var items = new[] { new { id = "a", text = "Great communicator." }, new { id = "b", text = "Not a culture fit." } };
        var result = await (await client.PostJsonAsync("/v1/language/check-batch", new { items })).ReadAsync<CheckBatchResponse>();
        Assert.Equal(["a", "b"], result.Results.Select(r => r.Id));
        Assert.Empty(result.Results[0].Findings);
        Assert.NotEmpty(result.Results[1].Findings);

        var tooMany = Enumerable.Range(0, 1001).Select(i => new { id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), text = "ok" }).ToArray();
        await (await client.PostJsonAsync("/v1/language/check-batch", new { items = tooMany })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
    }

    [Fact]
    public async Task Check_runs_the_full_engine_by_default_and_only_the_rules_when_asked()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("interviewer");
        const string text = "Solid SQL, clear tests. Not someone I'd grab a beer with.";

        var full = await (await client.PostJsonAsync("/v1/language/check", new { text })).ReadAsync<CheckTextResponse>();
        Assert.Equal(LanguageEngine.Full, full.Engine);
        var finding = Assert.Single(full.Findings);
        Assert.Equal("model.culture-fit-vague", finding.RuleId);
        Assert.Equal("Not someone I'd grab a beer with.", finding.Match);
        Assert.Equal(finding.Match, text.Substring(finding.Start, finding.Length));
        Assert.InRange(finding.Confidence!.Value, 0.5, 1);
        Assert.Equal("culture-fit-vague", finding.Example!.Category);
        Assert.False(full.Blocking); // culture-fit-vague is a warning in the US pack

        var rules = await (await client.PostJsonAsync("/v1/language/check", new { text, engine = "rules" })).ReadAsync<CheckTextResponse>();
        Assert.Equal(LanguageEngine.Rules, rules.Engine);
        Assert.Empty(rules.Findings);

        await (await client.PostJsonAsync("/v1/language/check", new { text, engine = "magic" })).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Batch_takes_the_engine_and_says_which_ran()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("integration");
        var items = new[] { new { id = "a", text = "Clear, tested code." }, new { id = "b", text = "Not someone I'd grab a beer with." } };

        var full = await (await client.PostJsonAsync("/v1/language/check-batch", new { items })).ReadAsync<CheckBatchResponse>();
        Assert.Equal(LanguageEngine.Full, full.Engine);
        Assert.Empty(full.Results[0].Findings);
        Assert.Equal("model.culture-fit-vague", Assert.Single(full.Results[1].Findings).RuleId);

        var rules = await (await client.PostJsonAsync("/v1/language/check-batch", new { items, engine = "rules" })).ReadAsync<CheckBatchResponse>();
        Assert.Equal(LanguageEngine.Rules, rules.Engine);
        Assert.All(rules.Results, r => Assert.Empty(r.Findings));
    }

    [Fact]
    public async Task Rules_list_the_tenants_effective_catalog()
    {
        var tenant = await api.CreateTenantAsync();
        var rules = await (await tenant.Admin.GetAsync("/v1/language/rules")).ReadAsync<RulesResponse>();
        Assert.Equal("US", rules.Jurisdiction);
        Assert.Contains("age", rules.Categories);
        Assert.True(rules.Rules.Count > 50);
        Assert.All(rules.Rules, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
    }

    [Fact]
    public async Task Tenant_changes_add_terms_allow_phrases_and_disable_rules_and_are_audited()
    {
        var tenant = await api.CreateTenantAsync();
        var legal = await tenant.ClientAsync("legal");
        var interviewer = await tenant.ClientAsync("interviewer");

        async Task<IReadOnlyList<FindingResponse>> Check(string text) =>
            (await (await interviewer.PostJsonAsync("/v1/language/check", new { text })).ReadAsync<CheckTextResponse>()).Findings;

        Assert.Empty(await Check("She talked about Project Falcon a lot."));
        var term = await (await legal.PostJsonAsync("/v1/language/tenant-rules", new
        {
            kind = "term", category = "comparison", phrase = "Project Falcon", severity = "block",
            reason = "Internal codename of a confidential search.", suggestion = "Describe the skills, not the project.",
        })).ReadAsync<TenantRuleResponse>(HttpStatusCode.Created);
        var flagged = Assert.Single(await Check("She talked about Project Falcon a lot."));
        Assert.Equal(term.Key, flagged.RuleId);

        Assert.NotEmpty(await Check("Not a culture fit for us."));
        var ruleId = (await Check("Not a culture fit for us."))[0].RuleId;
        await (await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "disabledRule", ruleId })).ReadAsync<TenantRuleResponse>(HttpStatusCode.Created);
        Assert.DoesNotContain(await Check("Not a culture fit for us."), f => f.RuleId == ruleId);

        Assert.NotEmpty(await Check("He is a digital native."));
        await (await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "allowedPhrase", phrase = "digital native" })).ReadAsync<TenantRuleResponse>(HttpStatusCode.Created);
        Assert.Empty(await Check("He is a digital native."));

        await (await legal.DeleteAsync($"/v1/language/tenant-rules/{term.Id}")).EnsureSuccessAsync();
        Assert.Empty(await Check("She talked about Project Falcon a lot."));

        var events = await (await tenant.Admin.GetAsync("/v1/audit?limit=100")).ReadAsync<Page<AuditEventResponse>>();
        Assert.Equal(["language-rule.added", "language-rule.added", "language-rule.added", "language-rule.removed"],
            events.Items.Where(e => e.SubjectType == "language-rule").Select(e => e.Action));
    }

    [Fact]
    public async Task Unknown_rule_ids_and_categories_answer_422_and_store_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var legal = await tenant.ClientAsync("legal");
        await (await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "disabledRule", ruleId = "no.such-rule" })).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-language-rule");
        await (await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "term", category = "astrology", phrase = "x", reason = "r", suggestion = "s" }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-language-rule");
        await (await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "bogus" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var list = (await (await legal.GetAsync("/v1/language/tenant-rules")).ReadAsync<Page<TenantRuleResponse>>()).Items;
        Assert.Empty(list);
    }

    [Fact]
    public async Task One_tenants_changes_never_affect_another()
    {
        var a = await api.CreateTenantAsync();
        var b = await api.CreateTenantAsync();
        var legalA = await a.ClientAsync("legal");
        var added = await (await legalA.PostJsonAsync("/v1/language/tenant-rules", new { kind = "allowedPhrase", phrase = "digital native" })).ReadAsync<TenantRuleResponse>(HttpStatusCode.Created);
        var clientB = await b.ClientAsync("legal");
        var findings = (await (await clientB.PostJsonAsync("/v1/language/check", new { text = "He is a digital native." })).ReadAsync<CheckTextResponse>()).Findings;
        Assert.NotEmpty(findings);
        await (await clientB.DeleteAsync($"/v1/language/tenant-rules/{added.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}

internal static class ResponseExtensions
{
    public static async Task EnsureSuccessAsync(this HttpResponseMessage response) =>
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
}
