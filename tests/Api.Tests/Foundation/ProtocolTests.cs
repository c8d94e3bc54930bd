using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>
/// HTTP as the real server (Kestrel on loopback) sees it: answers written by the server itself, content types and
/// charsets, strict JSON, HEAD, caching and sniffing headers, and bounded answers.
/// </summary>
public sealed class ProtocolTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _api;

    public ProtocolTests(ApiFactory api)
    {
        api.UseRealServer();
        _api = api;
    }

    private async Task<(TestTenant Tenant, HttpClient Admin)> TenantAsync()
    {
        _api.StartServer();
        var tenant = await _api.CreateTenantAsync();
        return (tenant, _api.ClientWithKey(tenant.AdminKey));
    }

    private static async Task<JsonElement> AssertProblemBodyAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var problem = doc.RootElement.Clone();
        Assert.Equal("urn:feedbackhub:problem:" + type, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        return problem;
    }

    [Fact]
    public async Task Requests_the_server_refuses_before_the_application_still_get_problem_documents()
    {
        var (_, admin) = await TenantAsync();
        await AssertProblemBodyAsync(await admin.GetAsync("/v1/applications/%00"), HttpStatusCode.BadRequest, "bad-request");
        await AssertProblemBodyAsync(await admin.GetAsync("/v1/applications?q=" + new string('a', 20_000)), HttpStatusCode.RequestUriTooLong, "uri-too-long");
        // The connection was closed after each; a new request on the same client still works.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/api-keys")).StatusCode);
    }

    [Fact]
    public async Task A_body_without_content_type_or_in_another_charset_answers_415()
    {
        var (_, admin) = await TenantAsync();
        var bare = new ByteArrayContent("""{"text":"x"}"""u8.ToArray());
        await AssertProblemBodyAsync(await admin.PostAsync("/v1/language/check", bare), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        var latin1 = new ByteArrayContent(Encoding.Latin1.GetBytes("""{"text":"caf\u00e9"}"""));
        latin1.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=iso-8859-1");
        await AssertProblemBodyAsync(await admin.PostAsync("/v1/language/check", latin1), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        var utf8 = new StringContent("""{"text":"café"}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/v1/language/check", utf8)).StatusCode);
    }

    [Theory]
    [InlineData("duplicate property", """{"displayName":"a","displayName":"b","roles":["admin"]}""")]
    [InlineData("property name in another case", """{"DisplayName":"a","roles":["admin"]}""")]
    [InlineData("number as a string", """{"applicationId":"00000000-0000-0000-0000-000000000000","templateId":"00000000-0000-0000-0000-000000000000","templateVersion":"1"}""")]
    public async Task The_JSON_reader_is_strict(string why, string body)
    {
        var (tenant, admin) = await TenantAsync();
        var url = body.Contains("templateVersion", StringComparison.Ordinal) ? "/v1/feedback" : "/v1/api-keys";
        var client = url == "/v1/feedback" ? _api.ClientWithKey(await tenant.KeyAsync("recruiter")) : admin;
        var problem = await AssertProblemBodyAsync(await client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "invalid-json");
        Assert.True(problem.TryGetProperty("errors", out _), why);
    }

    [Fact]
    public async Task Head_answers_like_get_without_a_body()
    {
        var (_, admin) = await TenantAsync();
        using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/api-keys"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var missing = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/api-keys/{Guid.NewGuid()}"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Answers_with_secrets_and_personal_data_are_never_cached_or_sniffed()
    {
        var (tenant, admin) = await TenantAsync();
        using var created = await admin.PostAsync("/v1/api-keys", new StringContent("""{"displayName":"ATS","roles":["integration"]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(created.Headers.CacheControl?.NoStore, "a one-time secret must not be stored by caches");
        Assert.Equal("nosniff", string.Join(",", created.Headers.GetValues("X-Content-Type-Options")));

        var applicationId = await FeedbackWorkflowTests.ApplicationAsync(tenant);
        var application = await (await admin.GetAsync($"/v1/applications/{applicationId}")).Content.ReadAsStringAsync();
        var candidateId = JsonDocument.Parse(application).RootElement.GetProperty("candidate").GetProperty("id").GetGuid();
        using var export = await admin.GetAsync($"/v1/candidates/{candidateId}/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.True(export.Headers.CacheControl?.NoStore);
        Assert.Equal("nosniff", string.Join(",", export.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task A_text_full_of_risky_words_answers_a_bounded_list_that_says_it_is_cut()
    {
        var (_, admin) = await TenantAsync();
        var text = string.Concat(Enumerable.Repeat("pregnant ", 100_000)); // 900 KB, one finding per word
        using var response = await admin.PostAsync("/v1/language/check", new StringContent(JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body.Length < 100_000, $"answer of {body.Length} characters");
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(100, doc.RootElement.GetProperty("findings").GetArrayLength());
        Assert.True(doc.RootElement.GetProperty("truncated").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("blocking").GetBoolean());

        var items = Enumerable.Range(0, 50).Select(i => new { id = $"i{i}", text = string.Concat(Enumerable.Repeat("pregnant ", 200)) });
        using var batch = await admin.PostAsync("/v1/language/check-batch", new StringContent(JsonSerializer.Serialize(new { items }), Encoding.UTF8, "application/json"));
        using var batchDoc = JsonDocument.Parse(await batch.Content.ReadAsStringAsync());
        var results = batchDoc.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(50, results.Count);
        Assert.Equal(1000, results.Sum(r => r.GetProperty("findings").GetArrayLength()));
        Assert.All(results, r => Assert.True(r.GetProperty("truncated").GetBoolean()));
        Assert.True(batchDoc.RootElement.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task A_short_text_is_not_marked_truncated()
    {
        var (_, admin) = await TenantAsync();
        using var response = await admin.PostAsync("/v1/language/check", new StringContent("""{"text":"She is pregnant."}""", Encoding.UTF8, "application/json"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, doc.RootElement.GetProperty("findings").GetArrayLength());
        Assert.False(doc.RootElement.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task Errors_are_problem_json_whatever_the_client_accepts()
    {
        var (_, admin) = await TenantAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/api-keys?limit=0");
        request.Headers.Accept.ParseAdd("application/xml");
        await AssertProblemBodyAsync(await admin.SendAsync(request), HttpStatusCode.UnprocessableEntity, "validation");
    }

    [Fact]
    public async Task A_compressed_body_or_a_null_body_is_refused_not_misread()
    {
        var (_, admin) = await TenantAsync();
        var gzip = new StringContent("""{"text":"x"}""", Encoding.UTF8, "application/json");
        gzip.Headers.ContentEncoding.Add("gzip");
        await AssertProblemBodyAsync(await admin.PostAsync("/v1/language/check", gzip), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        var problem = await AssertProblemBodyAsync(
            await admin.PostAsync($"/v1/public/feedback-requests/{new string('a', 43)}", new StringContent("null", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "invalid-json");
        Assert.True(problem.GetProperty("errors").TryGetProperty("$", out _));
    }
}
