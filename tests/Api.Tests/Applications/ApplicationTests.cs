using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Applications;

public sealed class ApplicationTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static string NewId(string tag) => $"{tag}-{Guid.NewGuid():N}";

    private static object Body(
        string candidateId, string title = "Backend Engineer", string? status = null, string firstName = "Ada",
        string email = "ada@example.test", string? stage = "onsite") =>
        new
        {
            candidate = new { externalId = candidateId, firstName, lastName = "Lovelace", email, locale = "en-GB" },
            positionTitle = title,
            stageReached = stage,
            status,
        };

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string externalId, object body) =>
        client.PutAsJsonAsync($"/v1/applications/by-external-id/{Uri.EscapeDataString(externalId)}", body, HttpAssertions.Json);

    private async Task<int> AuditCountAsync(Guid tenantId)
    {
        await using var db = api.Database.CreateDbContext();
        return await db.AuditEvents.CountAsync(e => e.TenantId == tenantId);
    }

    private async Task<(int Applications, int Candidates)> RowsAsync(Guid tenantId)
    {
        await using var db = api.Database.CreateDbContext();
        return (await db.Applications.CountAsync(a => a.TenantId == tenantId), await db.Candidates.CountAsync(c => c.TenantId == tenantId));
    }

    [Fact]
    public async Task Creating_answers_201_with_location_and_the_application()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var candidateId = NewId("cand");

        var response = await PutAsync(ats, externalId, Body(candidateId, status: "active"));
        var created = await response.ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        Assert.Equal($"/v1/applications/{created.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(externalId, created.ExternalId);
        Assert.Equal(candidateId, created.Candidate.ExternalId);
        Assert.Equal(("Ada", "Lovelace", "ada@example.test", "en-GB"), (created.Candidate.FirstName, created.Candidate.LastName, created.Candidate.Email, created.Candidate.Locale));
        Assert.Equal(("Backend Engineer", "onsite", "active"), (created.PositionTitle, created.StageReached, created.Status));
        Assert.Null(created.RejectedAt);
        Assert.Equal(created.CreatedAt, created.UpdatedAt);

        var fetched = await (await ats.GetAsync(response.Headers.Location)).ReadAsync<ApplicationResponse>();
        Assert.Equal(created, fetched);
    }

    [Fact]
    public async Task The_same_body_again_answers_200_and_changes_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var body = Body(NewId("cand"));
        var first = await (await PutAsync(ats, externalId, body)).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var events = await AuditCountAsync(tenant.Id);

        var second = await (await PutAsync(ats, externalId, body)).ReadAsync<ApplicationResponse>(HttpStatusCode.OK);

        Assert.Equal(first, second);
        Assert.Equal(first.UpdatedAt, second.UpdatedAt);
        Assert.Equal(events, await AuditCountAsync(tenant.Id));
        Assert.Equal((1, 1), await RowsAsync(tenant.Id));
    }

    [Fact]
    public async Task Changing_the_title_answers_200_with_the_update_and_audits_the_field_name()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Recruiter);
        var externalId = NewId("app");
        var candidateId = NewId("cand");
        var first = await (await PutAsync(ats, externalId, Body(candidateId))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        var second = await (await PutAsync(ats, externalId, Body(candidateId, title: "Staff Engineer"))).ReadAsync<ApplicationResponse>();

        Assert.Equal(first.Id, second.Id);
        Assert.Equal("Staff Engineer", second.PositionTitle);
        Assert.True(second.UpdatedAt > first.UpdatedAt);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        await using var db = api.Database.CreateDbContext();
        var updated = await db.AuditEvents.SingleAsync(e => e.TenantId == tenant.Id && e.Action == "application.updated");
        Assert.Equal(first.Id, updated.SubjectId);
        Assert.Equal(["positionTitle"], JsonDocument.Parse(updated.Data).RootElement.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
    }

    [Fact]
    public async Task Another_candidate_for_an_existing_application_answers_409_and_changes_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        await (await PutAsync(ats, externalId, Body(NewId("cand")))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var events = await AuditCountAsync(tenant.Id);

        await (await PutAsync(ats, externalId, Body(NewId("other"), title: "Changed"))).AssertProblemAsync(HttpStatusCode.Conflict, "candidate-mismatch");

        Assert.Equal((1, 1), await RowsAsync(tenant.Id));
        Assert.Equal(events, await AuditCountAsync(tenant.Id));
    }

    [Fact]
    public async Task Status_rejected_answers_422_pointing_at_the_rejection_operation()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var candidateId = NewId("cand");
        await (await PutAsync(ats, externalId, Body(candidateId))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        var problem = await (await PutAsync(ats, externalId, Body(candidateId, status: "rejected")))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "use-rejection-operation");

        Assert.Equal("Use the rejection operation to reject an application.", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("status", out _));
        await (await PutAsync(ats, NewId("app"), Body(candidateId, status: "rejected"))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal((1, 1), await RowsAsync(tenant.Id));
    }

    [Fact]
    public async Task Setting_a_rejected_application_active_reopens_it_and_clears_rejected_at()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var candidateId = NewId("cand");
        var created = await (await PutAsync(ats, externalId, Body(candidateId))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        await api.Database.ExecuteAsync($"UPDATE applications SET status = 'Rejected', rejected_at = now() WHERE id = '{created.Id}'");
        var rejected = await (await ats.GetAsync($"/v1/applications/{created.Id}")).ReadAsync<ApplicationResponse>();
        Assert.Equal("rejected", rejected.Status);
        Assert.NotNull(rejected.RejectedAt);

        var reopened = await (await PutAsync(ats, externalId, Body(candidateId, status: "active"))).ReadAsync<ApplicationResponse>();

        Assert.Equal("active", reopened.Status);
        Assert.Null(reopened.RejectedAt);
        await using var db = api.Database.CreateDbContext();
        var e = await db.AuditEvents.SingleAsync(e => e.TenantId == tenant.Id && e.Action == "application.updated");
        Assert.True(JsonDocument.Parse(e.Data).RootElement.GetProperty("reopened").GetBoolean());
    }

    [Fact]
    public async Task Listing_filters_by_status_position_and_updated_since()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var a = await (await PutAsync(ats, NewId("a"), Body(NewId("c"), title: "Backend Engineer"))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var b = await (await PutAsync(ats, NewId("b"), Body(NewId("c"), title: "Sales Lead", status: "hired"))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var c = await (await PutAsync(ats, NewId("c"), Body(NewId("c"), title: "Frontend ENGINEER", status: "withdrawn"))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var reader = await tenant.ClientAsync(Roles.Legal);

        async Task<List<Guid>> Ids(string query) =>
            (await (await reader.GetAsync("/v1/applications?limit=100&" + query)).ReadAsync<Page<ApplicationResponse>>()).Items.Select(i => i.Id).ToList();

        Assert.Equal([a.Id, b.Id, c.Id], await Ids(""));
        Assert.Equal([b.Id], await Ids("status=hired"));
        Assert.Equal([a.Id], await Ids("status=active"));
        Assert.Empty(await Ids("status=rejected"));
        Assert.Equal([a.Id, c.Id], await Ids("position=engineer"));
        Assert.Equal([c.Id], await Ids("position=engineer&status=withdrawn"));
        Assert.Empty(await Ids("position=%25")); // a literal '%', not a wildcard
        var since = Uri.EscapeDataString(b.UpdatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        Assert.Equal([b.Id, c.Id], await Ids("updatedSince=" + since));
        var sinceWithOffset = Uri.EscapeDataString(b.UpdatedAt.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture));
        Assert.Equal([b.Id, c.Id], await Ids("updatedSince=" + sinceWithOffset));
    }

    [Fact]
    public async Task Listing_pages_by_updated_at_across_three_pages_without_duplicates()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var created = new List<Guid>();
        for (var i = 0; i < 7; i++)
            created.Add((await (await PutAsync(ats, NewId("p"), Body(NewId("c")))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created)).Id);
        // Two rows with the same updated_at: the id decides, and the cursor must carry both.
        await api.Database.ExecuteAsync(
            $"UPDATE applications SET updated_at = (SELECT updated_at FROM applications WHERE id = '{created[2]}') WHERE id = '{created[3]}'");

        var seen = new List<Guid>();
        string? next = null;
        var pages = 0;
        do
        {
            var page = await (await ats.GetAsync("/v1/applications?limit=3" + (next is null ? "" : "&after=" + next))).ReadAsync<Page<ApplicationResponse>>();
            seen.AddRange(page.Items.Select(i => i.Id));
            next = page.Next;
            pages++;
        }
        while (next is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(7, seen.Distinct().Count());
        Assert.Equal(created.Order().ToList(), seen.Order().ToList());
    }

    public static TheoryData<string, string, string, HttpStatusCode, string> BadPuts => new()
    {
        { "bad characters in the path's external id", "bad id!", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test"},"positionTitle":"Engineer"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "too long external id", new string('a', 201), """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test"},"positionTitle":"Engineer"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "invalid email", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@"},"positionTitle":"Engineer"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "bad candidate external id", "ok-1", """{"candidate":{"externalId":"c 1","firstName":"Ada","email":"ada@example.test"},"positionTitle":"Engineer"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "control characters in a name", "ok-1", "{\"candidate\":{\"externalId\":\"c1\",\"firstName\":\"A\\r\\nda\",\"email\":\"ada@example.test\"},\"positionTitle\":\"Engineer\"}", HttpStatusCode.UnprocessableEntity, "validation" },
        { "bad locale", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test","locale":"english"},"positionTitle":"Engineer"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "empty title", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test"},"positionTitle":" "}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "unknown status", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test"},"positionTitle":"Engineer","status":"paused"}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "missing candidate", "ok-1", """{"positionTitle":"Engineer"}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "null candidate", "ok-1", """{"candidate":null,"positionTitle":"Engineer"}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "unknown field", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test"},"positionTitle":"Engineer","salary":1}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "unknown candidate field", "ok-1", """{"candidate":{"externalId":"c1","firstName":"Ada","email":"ada@example.test","age":40},"positionTitle":"Engineer"}""", HttpStatusCode.BadRequest, "invalid-json" },
    };

    [Theory]
    [MemberData(nameof(BadPuts))]
    public async Task Bad_upserts_answer_problem_details_and_store_nothing(string why, string externalId, string body, HttpStatusCode status, string type)
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var events = await AuditCountAsync(tenant.Id);

        var response = await ats.PutAsync($"/v1/applications/by-external-id/{Uri.EscapeDataString(externalId)}", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(status, type);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), why);
        Assert.Equal((0, 0), await RowsAsync(tenant.Id));
        Assert.Equal(events, await AuditCountAsync(tenant.Id));
    }

    [Fact]
    public async Task Validation_errors_name_every_bad_field()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var problem = await (await PutAsync(ats, "bad id", new { candidate = new { externalId = "c1", firstName = "", email = "nope" }, positionTitle = "" }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["candidate.email", "candidate.firstName", "externalId", "positionTitle"], fields);
    }

    [Theory]
    [InlineData("status=paused", "status")]
    [InlineData("status=Active", "status")]
    [InlineData("updatedSince=2026-01-31", "updatedSince")]
    [InlineData("updatedSince=2026-01-31T09:00:00", "updatedSince")]
    [InlineData("updatedSince=2026-01-31T09:00:00+01:00", "updatedSince")] // '+' not URL-encoded arrives as a space
    [InlineData("updatedSince=yesterday", "updatedSince")]
    [InlineData("after=bm90LWEtY3Vyc29y", "after")]
    [InlineData("limit=0", "limit")]
    public async Task Bad_list_parameters_answer_422_naming_the_parameter(string query, string field)
    {
        var tenant = await api.CreateTenantAsync();
        var reader = await tenant.ClientAsync(Roles.Recruiter);
        var problem = await (await reader.GetAsync("/v1/applications?" + query)).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), query);
        if (field == "status")
            Assert.Contains("active, rejected, withdrawn, hired", messages[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_application_id_answers_400_and_unknown_404()
    {
        var tenant = await api.CreateTenantAsync();
        var reader = await tenant.ClientAsync(Roles.Recruiter);
        await (await reader.GetAsync("/v1/applications/not-a-uuid")).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await reader.GetAsync($"/v1/applications/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    public static TheoryData<string, HttpStatusCode, HttpStatusCode, HttpStatusCode> RoleMatrix => new()
    {
        // role, PUT, GET list, GET one
        { Roles.Admin, HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.OK },
        { Roles.Recruiter, HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.OK },
        { Roles.Interviewer, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK },
        { Roles.Legal, HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.OK },
        { Roles.Integration, HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(RoleMatrix))]
    public async Task Each_role_gets_exactly_its_allowed_operations(string role, HttpStatusCode put, HttpStatusCode list, HttpStatusCode get)
    {
        var tenant = await api.CreateTenantAsync();
        var existing = await (await PutAsync(await tenant.ClientAsync(Roles.Integration), NewId("app"), Body(NewId("c"))))
            .ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var client = await tenant.ClientAsync(role);

        var responses = new[]
        {
            (put, await PutAsync(client, NewId("app"), Body(NewId("c")))),
            (list, await client.GetAsync("/v1/applications")),
            (get, await client.GetAsync($"/v1/applications/{existing.Id}")),
        };

        foreach (var (expected, response) in responses)
        {
            if (expected == HttpStatusCode.Forbidden)
                await response.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
            else
                Assert.True(expected == response.StatusCode, $"{role} {response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode}");
        }

        Assert.Equal(put == HttpStatusCode.Created ? 2 : 1, (await RowsAsync(tenant.Id)).Applications);
    }

    [Fact]
    public async Task Without_a_key_every_operation_answers_401()
    {
        var anonymous = api.CreateClient();
        await (await PutAsync(anonymous, "x", Body("c"))).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        await (await anonymous.GetAsync("/v1/applications")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.GetAsync($"/v1/applications/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Another_tenants_application_is_404_and_its_external_id_creates_a_new_one_here()
    {
        var theirs = await api.CreateTenantAsync();
        var mine = await api.CreateTenantAsync();
        var theirAts = await theirs.ClientAsync(Roles.Integration);
        var myAts = await mine.ClientAsync(Roles.Integration);
        var externalId = NewId("shared");
        var candidateId = NewId("cand");
        var their = await (await PutAsync(theirAts, externalId, Body(candidateId))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        await (await myAts.GetAsync($"/v1/applications/{their.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        var my = await (await PutAsync(myAts, externalId, Body(candidateId, title: "Other title", email: "other@example.test")))
            .ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        Assert.NotEqual(their.Id, my.Id);
        Assert.NotEqual(their.Candidate.Id, my.Candidate.Id);
        var myList = await (await myAts.GetAsync("/v1/applications")).ReadAsync<Page<ApplicationResponse>>();
        Assert.Equal([my.Id], myList.Items.Select(i => i.Id));
        var theirsNow = await (await theirAts.GetAsync($"/v1/applications/{their.Id}")).ReadAsync<ApplicationResponse>();
        Assert.Equal(their, theirsNow);
    }

    [Fact]
    public async Task Interviewers_read_one_application_with_empty_feedback_request_and_delivery()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await PutAsync(await tenant.ClientAsync(Roles.Integration), NewId("app"), Body(NewId("c"))))
            .ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        var interviewer = await tenant.ClientAsync(Roles.Interviewer);

        var body = JsonDocument.Parse(await (await interviewer.GetAsync($"/v1/applications/{created.Id}")).Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(created.Id, body.GetProperty("id").GetGuid());
        foreach (var name in new[] { "feedback", "request", "delivery", "rejectedAt" })
            Assert.Equal(JsonValueKind.Null, body.GetProperty(name).ValueKind);
    }

    [Fact]
    public async Task Erased_candidates_are_shown_without_personal_data_and_upserts_do_not_restore_it()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var candidateId = NewId("cand");
        var created = await (await PutAsync(ats, externalId, Body(candidateId))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        await api.Database.ExecuteAsync($"UPDATE candidates SET erased_at = now(), first_name = '', last_name = NULL, email = '', locale = NULL WHERE id = '{created.Candidate.Id}'");

        var again = await (await PutAsync(ats, externalId, Body(candidateId, firstName: "Restored"))).ReadAsync<ApplicationResponse>();
        var fetched = await (await ats.GetAsync($"/v1/applications/{created.Id}")).ReadAsync<ApplicationResponse>();
        var listed = (await (await ats.GetAsync("/v1/applications")).ReadAsync<Page<ApplicationResponse>>()).Items.Single();

        foreach (var candidate in new[] { again.Candidate, fetched.Candidate, listed.Candidate })
            Assert.Equal(new CandidateResponse(created.Candidate.Id, candidateId, null, null, null, null), candidate);
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(string.Empty, (await db.Candidates.SingleAsync(c => c.Id == created.Candidate.Id)).FirstName); // not "Restored"
    }

    [Fact]
    public async Task Audit_events_carry_field_names_but_no_names_or_emails()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("app");
        var candidateId = NewId("cand");
        const string First = "Quintessa", Changed = "Bartholomew", Last = "Lovelace";
        const string Email = "quintessa.private@example.test", NewEmail = "bartholomew.private@example.test";
        await (await PutAsync(ats, externalId, Body(candidateId, firstName: First, email: Email))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);
        await (await PutAsync(ats, externalId, Body(candidateId, firstName: Changed, email: NewEmail, title: "Staff", status: "hired")))
            .ReadAsync<ApplicationResponse>();

        await using var db = api.Database.CreateDbContext();
        var events = await db.AuditEvents.Where(e => e.TenantId == tenant.Id).OrderBy(e => e.Position).ToListAsync();
        Assert.Equal(
            ["candidate.created", "application.created", "candidate.updated", "application.updated"],
            events.Select(e => e.Action).Where(a => a.StartsWith("candidate.", StringComparison.Ordinal) || a.StartsWith("application.", StringComparison.Ordinal)));
        foreach (var e in events)
        {
            foreach (var secret in new[] { First, Changed, Last, Email, NewEmail, "quintessa", "bartholomew" })
                Assert.DoesNotContain(secret, e.Data, StringComparison.OrdinalIgnoreCase);
        }

        var candidateUpdate = JsonDocument.Parse(events.Single(e => e.Action == "candidate.updated").Data).RootElement;
        Assert.Equal(["firstName", "email"], candidateUpdate.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        var verification = JsonDocument.Parse(await (await tenant.Admin.GetAsync("/v1/audit/verify")).Content.ReadAsStringAsync()).RootElement;
        Assert.True(verification.GetProperty("valid").GetBoolean());
    }

    [Fact]
    public async Task Concurrent_identical_creations_all_succeed_with_exactly_one_row()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var externalId = NewId("race");
        var body = Body(NewId("cand"));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PutAsync(ats, externalId, body)));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        foreach (var r in responses)
            Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created, $"{(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        Assert.Single(statuses, HttpStatusCode.Created);
        Assert.Equal((1, 1), await RowsAsync(tenant.Id));
        var ids = new HashSet<Guid>();
        foreach (var r in responses)
            ids.Add((await r.ReadAsync<ApplicationResponse>(r.StatusCode)).Id);
        Assert.Single(ids);
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.TenantId == tenant.Id && e.Action == "application.created"));
    }
}
