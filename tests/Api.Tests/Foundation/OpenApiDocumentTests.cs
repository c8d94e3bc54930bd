using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

public sealed class OpenApiDocumentTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private async Task<string> DocumentAsync() =>
        await (await api.CreateClient().GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync();

    [Fact]
    public async Task Document_is_valid_OpenAPI()
    {
        var json = await DocumentAsync();
        var result = OpenApiDocument.Parse(json, OpenApiConstants.Json, new OpenApiReaderSettings());
        Assert.NotNull(result.Document);
        Assert.Empty(result.Diagnostic?.Errors ?? []);
        var errors = result.Document!.Validate(ValidationRuleSet.GetDefaultRuleSet());
        Assert.Empty(errors ?? []);
    }

    [Fact]
    public async Task Every_operation_has_an_id_a_summary_a_success_and_error_responses()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var ids = new HashSet<string>();
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                Assert.True(operation.Value.TryGetProperty("operationId", out var id), $"{where} has no operationId");
                Assert.True(ids.Add(id.GetString()!), $"{where}: duplicate operationId {id}");
                Assert.True(operation.Value.TryGetProperty("summary", out _), $"{where} has no summary");
                var responses = operation.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToList();
                Assert.True(responses.Any(r => r.StartsWith('2')), $"{where} documents no success response");
                Assert.True(responses.Any(r => r.StartsWith('4')), $"{where} documents no error response");
                foreach (var error in operation.Value.GetProperty("responses").EnumerateObject().Where(r => r.Name.StartsWith('4')))
                    Assert.True(error.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{where} {error.Name} is not problem+json");
                if (!path.Name.StartsWith("/v1/public/", StringComparison.Ordinal)) // candidate links: the token is the credential
                    Assert.True(operation.Value.TryGetProperty("security", out _), $"{where} does not say it needs an API key");
            }
        }

        Assert.NotEmpty(ids);
    }

    [Fact]
    public async Task Every_mapped_v1_endpoint_is_in_the_document()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var documented = doc.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name.TrimEnd('/')}"))
            .ToHashSet();
        var mapped = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/v1", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Where(m => m != "HEAD").Select(m =>
                $"{m} {System.Text.RegularExpressions.Regex.Replace(e.RoutePattern.RawText!, ":[a-z]+}", "}").TrimEnd('/')}"))
            .ToList();
        Assert.NotEmpty(mapped);
        Assert.All(mapped, m => Assert.Contains(m, documented));
    }

    [Theory]
    [InlineData("/v1/language/check", "post")]
    [InlineData("/v1/language/check-batch", "post")]
    [InlineData("/v1/language/tenant-rules", "post")]
    [InlineData("/v1/templates", "post")]
    [InlineData("/v1/feedback/{id}/answers", "put")]
    public async Task Key_operations_carry_a_request_example(string path, string method)
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var body = doc.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("requestBody");
        Assert.True(body.GetProperty("content").GetProperty("application/json").TryGetProperty("example", out var example));
        Assert.Equal(JsonValueKind.Object, example.ValueKind);
    }

    [Fact]
    public async Task Swagger_ui_is_served()
    {
        var response = await api.CreateClient().GetAsync("/swagger/index.html");
        response.EnsureSuccessStatusCode();
        Assert.Contains("swagger", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_problem_schema_describes_the_errors_the_API_writes()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var schema = doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails");
        Assert.NotEqual(JsonValueKind.False, schema.TryGetProperty("additionalProperties", out var extra) ? extra.ValueKind : JsonValueKind.True);
        var properties = schema.GetProperty("properties");
        Assert.Equal("string", properties.GetProperty("traceId").GetProperty("type").GetString());
        Assert.Equal("array", properties.GetProperty("errors").GetProperty("additionalProperties").GetProperty("type").GetString());

        // A real validation error has exactly the documented members (and their types).
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "", roles = Array.Empty<string>() }))
            .AssertProblemAsync(System.Net.HttpStatusCode.UnprocessableEntity);
        foreach (var member in problem.EnumerateObject())
            Assert.True(properties.TryGetProperty(member.Name, out _), $"'{member.Name}' is not in the problem schema");
    }

    [Fact]
    public async Task Every_operation_documents_the_statuses_its_shape_can_answer()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var responses = operation.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
                Assert.True(responses.Contains("400"), $"{where} does not document 400");
                Assert.True(responses.Contains("503"), $"{where} does not document 503");
                Assert.True(operation.Value.GetProperty("responses").GetProperty("503").GetProperty("headers").TryGetProperty("Retry-After", out _),
                    $"{where} does not document the Retry-After of its 503");
                if (operation.Value.TryGetProperty("requestBody", out _))
                    Assert.True(responses.IsSupersetOf(["413", "415", "422"]), $"{where} does not document 413, 415 and 422");
                var parameters = operation.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
                if (parameters.Any(x => x.GetProperty("name").GetString() == "limit"))
                    Assert.True(responses.Contains("422"), $"{where} has paging but does not document 422");
                var security = operation.Value.GetProperty("security");
                if (security.GetArrayLength() > 0)
                    Assert.True(responses.IsSupersetOf(["401", "403"]), $"{where} needs a key but does not document 401 and 403");
            }
        }
    }

    [Fact]
    public async Task The_server_url_is_the_configured_public_base_url_not_the_host_header()
    {
        var client = api.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "evil.example";
        using var doc = JsonDocument.Parse(await (await client.SendAsync(request)).Content.ReadAsStringAsync());
        var server = Assert.Single(doc.RootElement.GetProperty("servers").EnumerateArray()).GetProperty("url").GetString();
        Assert.Equal("http://127.0.0.1:5080", server);
    }

    [Fact]
    public async Task Public_operations_say_they_need_no_key_and_tags_and_licence_are_described()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var candidate = doc.RootElement.GetProperty("paths").GetProperty("/v1/public/feedback-requests/{token}").GetProperty("get");
        Assert.Equal(0, candidate.GetProperty("security").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("info").GetProperty("license").GetProperty("name").GetString()));
        var tags = doc.RootElement.GetProperty("tags").EnumerateArray().ToList();
        Assert.NotEmpty(tags);
        Assert.All(tags, t => Assert.NotEqual(t.GetProperty("name").GetString(), t.GetProperty("description").GetString()));
    }
}

/// <summary>The OpenAPI document and Swagger UI are off unless Development or <c>FeedbackHub:ApiDocs</c> says otherwise.</summary>
public sealed class ApiDocsSwitchTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _api;

    public ApiDocsSwitchTests(ApiFactory api)
    {
        api.Settings["FeedbackHub:ApiDocs"] = null; // as in production: not configured
        _api = api;
    }

    [Fact]
    public async Task Outside_development_the_document_and_swagger_ui_are_not_served_by_default()
    {
        var tenant = await _api.CreateTenantAsync();
        var client = tenant.Admin;
        await (await client.GetAsync("/openapi/v1.json")).AssertProblemAsync(System.Net.HttpStatusCode.NotFound);
        await (await client.GetAsync("/swagger/index.html")).AssertProblemAsync(System.Net.HttpStatusCode.NotFound);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/v1/api-keys")).StatusCode);
    }
}
