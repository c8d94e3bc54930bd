using System.Net;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Api.Tests.Templates;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>
/// Values that used to answer 500 or slip into storage: nulls inside arrays, NUL and other control characters,
/// bidirectional overrides and invisible characters, line breaks in one-line values. Each answers 422 naming the
/// field, and nothing is stored.
/// </summary>
public sealed class HostileInputTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> AssertFieldRefusedAsync(HttpResponseMessage response, string field)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name '{field}': {problem}");
        return problem;
    }

    [Fact]
    public async Task Null_items_in_arrays_answer_422_with_their_path()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        await AssertFieldRefusedAsync(await recruiter.PostAsync("/v1/language/check-batch", Json("""{"items":[null]}""")), "items[0]");

        var feedbackId = await FeedbackWorkflowTests.StartAsync(tenant, recruiter);
        var get = await recruiter.GetAsync($"/v1/feedback/{feedbackId}");
        var save = new HttpRequestMessage(HttpMethod.Put, $"/v1/feedback/{feedbackId}/answers") { Content = Json("""{"answers":[null]}""") };
        save.Headers.IfMatch.Add(get.Headers.ETag!);
        await AssertFieldRefusedAsync(await recruiter.SendAsync(save), "answers[0]");

        var template = TemplateLifecycleTests.Request();
        var criteriaWithNull = JsonSerializer.Serialize(template, HttpAssertions.Json).Replace("\"criteria\":[", "\"criteria\":[null,", StringComparison.Ordinal);
        await AssertFieldRefusedAsync(await recruiter.PostAsync("/v1/templates", Json(criteriaWithNull)), "criteria[0]");
        var bandsWithNull = JsonSerializer.Serialize(template, HttpAssertions.Json).Replace("\"bands\":[", "\"bands\":[null,", StringComparison.Ordinal);
        await AssertFieldRefusedAsync(await recruiter.PostAsync("/v1/templates", Json(bandsWithNull)), "criteria[0].bands[0]");

        var templateId = (await (await recruiter.PostJsonAsync("/v1/templates", template)).ReadAsync<Features.Templates.TemplateVersionResponse>(HttpStatusCode.Created)).TemplateId;
        await AssertFieldRefusedAsync(await recruiter.PutAsync($"/v1/templates/{templateId}/draft", Json(criteriaWithNull)), "criteria[0]");
    }

    [Fact]
    public async Task A_key_with_a_null_role_is_refused_and_a_bad_stored_role_never_breaks_authentication()
    {
        var tenant = await api.CreateTenantAsync();
        await AssertFieldRefusedAsync(await tenant.Admin.PostAsync("/v1/api-keys", Json("""{"displayName":"x","roles":[null]}""")), "roles[0]");
        await using (var db = api.Database.CreateDbContext())
            Assert.Equal(1, await db.ApiKeys.CountAsync(k => k.TenantId == tenant.Id));

        // A row written before validation existed (or by hand) with a NULL and an unknown role: the key still works
        // for its real role and the others grant nothing.
        var secret = await tenant.KeyAsync("legal");
        await using (var db = api.Database.CreateDbContext())
        {
            await db.Database.ExecuteSqlRawAsync(
                "UPDATE api_keys SET roles = ARRAY[NULL, 'root', 'legal'] WHERE tenant_id = {0} AND display_name = 'Test legal'", tenant.Id);
        }

        var client = api.ClientWithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/audit")).StatusCode);
        await (await client.GetAsync("/v1/api-keys")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    public static TheoryData<string, string> ControlCharacters => new()
    {
        { "NUL", "\u0000" },
        { "BEL", "\u0007" },
        { "right-to-left override", "\u202E" },
        { "first-strong isolate", "\u2068" },
        { "zero-width space", "\u200B" },
        { "byte-order mark", "\uFEFF" },
        { "tag character", "\U000E0041" },
    };

    [Theory]
    [MemberData(nameof(ControlCharacters))]
    public async Task Control_and_invisible_characters_answer_422_wherever_a_string_is_stored(string name, string bad)
    {
        var tenant = await api.CreateTenantAsync();
        var value = "a" + bad + "b";
        await AssertFieldRefusedAsync(await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { senderName = value })), "senderName");
        var legal = await tenant.ClientAsync("legal");
        await AssertFieldRefusedAsync(await legal.PostJsonAsync("/v1/language/tenant-rules", new { kind = "allowedPhrase", phrase = value }), "phrase");
        await AssertFieldRefusedAsync(await legal.PostJsonAsync("/v1/language/tenant-rules",
            new { kind = "term", category = "comparison", phrase = "project falcon", severity = "block", reason = value, suggestion = "x" }), "reason");
        await AssertFieldRefusedAsync(await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = value, roles = new[] { "admin" } }), "displayName");
        var ats = await tenant.ClientAsync("integration");
        await AssertFieldRefusedAsync(await ats.PutAsync("/v1/applications/by-external-id/app-1", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = "c-1", firstName = value, email = "ada@example.com" },
            positionTitle = "Backend" + bad + "Engineer",
        })), "candidate.firstName");
        await AssertFieldRefusedAsync(await ats.GetAsync("/v1/applications?position=" + Uri.EscapeDataString(value)), "position");

        var (reviewer, feedbackId) = await SubmittedAsync(tenant);
        await AssertFieldRefusedAsync(await reviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = value }), "comment");

        await using var db = api.Database.CreateDbContext();
        Assert.Equal("FeedbackHub", (await db.Tenants.SingleAsync(t => t.Id == tenant.Id)).Settings.SenderName);
        Assert.Equal(0, await db.TenantLanguageRules.IgnoreQueryFilters().CountAsync(r => r.TenantId == tenant.Id));
        Assert.Equal(0, await db.Candidates.IgnoreQueryFilters().CountAsync(c => c.TenantId == tenant.Id && c.ExternalId == "c-1"));
        Assert.Equal(Domain.Authoring.FeedbackStatus.Submitted, (await db.Feedback.IgnoreQueryFilters().SingleAsync(f => f.Id == feedbackId)).Status);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public async Task Line_breaks_are_refused_in_one_line_values_and_kept_in_free_text()
    {
        var tenant = await api.CreateTenantAsync();
        await AssertFieldRefusedAsync(await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { senderName = "Acme\r\nBcc: all@example.com" })), "senderName");
        var check = await (await tenant.Admin.PostJsonAsync("/v1/language/check", new { text = "First line.\r\nSecond line.\tIndented." }))
            .ReadAsync<JsonElement>();
        Assert.Equal(0, check.GetProperty("findings").GetArrayLength());
        var (reviewer, feedbackId) = await SubmittedAsync(tenant);
        (await reviewer.PostJsonAsync($"/v1/feedback/{feedbackId}/request-changes", new { comment = "Please rephrase.\nThank you." })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Scripts_that_need_joiners_and_marks_are_accepted()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync("integration");
        // Persian uses ZWNJ (U+200C); Hebrew text may carry RLM (U+200F); emoji sequences use ZWJ (U+200D).
        var response = await ats.PutAsync("/v1/applications/by-external-id/app-2", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = "c-2", firstName = "می\u200Cخواهم", lastName = "שרה\u200F", email = "sara@example.com" },
            positionTitle = "Engineer \U0001F469\u200D\U0001F4BB",
        }));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Settings_report_every_bad_field_at_once()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new
        {
            coolingOffMinutes = -1, requestWindowDays = 0, senderAddress = "not-an-address", jurisdiction = "FR",
        }))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["coolingOffMinutes", "jurisdiction", "requestWindowDays", "senderAddress"], fields);
    }

    [Fact]
    public async Task A_rejection_time_long_before_any_request_window_is_refused()
    {
        var tenant = await api.CreateTenantAsync();
        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var ats = await tenant.ClientAsync("integration");
        await AssertFieldRefusedAsync(await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { rejectedAt = "0001-01-01T00:00:00Z" }), "rejectedAt");
        await AssertFieldRefusedAsync(await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { rejectedAt = DateTimeOffset.UtcNow.AddDays(2) }), "rejectedAt");
        (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { rejectedAt = DateTimeOffset.UtcNow.AddDays(-3) })).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Errors_name_parameters_as_the_API_does_and_echo_no_raw_input()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.GetAsync("/v1/api-keys?limit=abc%0D%0A%3Cscript%3E")).AssertProblemAsync(HttpStatusCode.BadRequest, "bad-request");
        var text = problem.ToString();
        Assert.Equal("The parameter 'limit' must be a whole number.", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _));
        foreach (var leaked in new[] { "Nullable", "Int32", "<script>", "\r", "\n", "abc" })
            Assert.DoesNotContain(leaked, text, StringComparison.Ordinal);

        var unknown = await (await tenant.Admin.PostAsync("/v1/api-keys", Json("{\"displayName\":\"x\",\"roles\":[\"admin\"],\"a\\r\\n<b>\":1}")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-json");
        Assert.DoesNotContain("\r", unknown.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", unknown.ToString(), StringComparison.Ordinal);
    }

    private static async Task<(HttpClient Reviewer, Guid FeedbackId)> SubmittedAsync(TestTenant tenant)
    {
        var author = await tenant.ClientAsync("interviewer");
        var id = await FeedbackWorkflowTests.StartAsync(tenant, author);
        (await FeedbackWorkflowTests.SaveAsync(author, id, FeedbackWorkflowTests.CleanAnswers, null)).EnsureSuccessStatusCode();
        (await author.PostJsonAsync($"/v1/feedback/{id}/submit", new { })).EnsureSuccessStatusCode();
        return (await tenant.ClientAsync("recruiter"), id);
    }
}
