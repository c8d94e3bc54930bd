using System.Net;
using System.Text;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>Bad input always answers a problem document (never 500) and changes nothing.</summary>
public sealed class BadInputTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    public static TheoryData<string, string, HttpStatusCode, string> Bodies => new()
    {
        { "malformed JSON", """{"displayName": "x", """, HttpStatusCode.BadRequest, "invalid-json" },
        { "not JSON at all", "hello", HttpStatusCode.BadRequest, "invalid-json" },
        { "wrong type", """{"displayName": "x", "roles": "admin"}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "number for string", """{"displayName": 42, "roles": ["admin"]}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "unknown field", """{"displayName": "x", "roles": ["admin"], "isRoot": true}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "missing field", """{"displayName": "x"}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "null for required", """{"displayName": null, "roles": ["admin"]}""", HttpStatusCode.BadRequest, "invalid-json" },
        { "array body", "[]", HttpStatusCode.BadRequest, "invalid-json" },
        { "empty body", "", HttpStatusCode.BadRequest, "bad-request" },
        { "unknown role", """{"displayName": "x", "roles": ["root"]}""", HttpStatusCode.UnprocessableEntity, "validation" },
        { "control characters in name", "{\"displayName\": \"a\\r\\nb\", \"roles\": [\"admin\"]}", HttpStatusCode.UnprocessableEntity, "validation" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Bad_bodies_answer_problem_details_and_store_nothing(string why, string body, HttpStatusCode status, string type)
    {
        var tenant = await api.CreateTenantAsync();
        var response = await tenant.Admin.PostAsync("/v1/api-keys", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(status, type);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), why);
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(1, db.ApiKeys.Count(k => k.TenantId == tenant.Id));
        Assert.Equal(2, db.AuditEvents.Count(e => e.TenantId == tenant.Id));
    }

    [Fact]
    public async Task Unknown_field_is_named_in_the_problem()
    {
        var tenant = await api.CreateTenantAsync();
        var response = await tenant.Admin.PostAsync("/v1/api-keys",
            new StringContent("""{"displayName": "x", "roles": ["admin"], "isRoot": true}""", Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("isRoot", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_body_answers_413()
    {
        var tenant = await api.CreateTenantAsync();
        var huge = "{\"displayName\": \"" + new string('a', 2 * 1024 * 1024) + "\", \"roles\": [\"admin\"]}";
        var response = await tenant.Admin.PostAsync("/v1/api-keys", new StringContent(huge, Encoding.UTF8, "application/json"));
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task Wrong_content_type_answers_415()
    {
        var tenant = await api.CreateTenantAsync();
        var response = await tenant.Admin.PostAsync("/v1/api-keys", new StringContent("displayName=x", Encoding.UTF8, "text/plain"));
        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Theory]
    [InlineData("/v1/api-keys/not-a-uuid", HttpStatusCode.BadRequest)]
    [InlineData("/v1/api-keys/00000000-0000-0000-0000-000000000000", HttpStatusCode.NotFound)]
    [InlineData("/v1/api-keys?limit=0", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/v1/api-keys?limit=101", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/v1/api-keys?limit=ten", HttpStatusCode.BadRequest)]
    [InlineData("/v1/api-keys?after=%25%25%25", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/v1/audit?after=bm90LWEtbnVtYmVy", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/v1/diagnostics/test-email/123", HttpStatusCode.BadRequest)]
    [InlineData("/v1/no-such-thing", HttpStatusCode.NotFound)]
    public async Task Bad_ids_paths_and_parameters_answer_problem_details(string url, HttpStatusCode status)
    {
        var tenant = await api.CreateTenantAsync();
        await (await tenant.Admin.GetAsync(url)).AssertProblemAsync(status);
    }

    [Fact]
    public async Task Wrong_method_answers_405_problem()
    {
        var tenant = await api.CreateTenantAsync();
        await (await tenant.Admin.PutAsync("/v1/api-keys", new StringContent("{}", Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Invalid_test_email_recipient_answers_422_and_queues_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to = "a@b.c\r\nBcc: x@y.z" }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("to", out _));
        await using var db = api.Database.CreateDbContext();
        Assert.Empty(db.OutboxMessages.Where(m => m.TenantId == tenant.Id));
    }
}
