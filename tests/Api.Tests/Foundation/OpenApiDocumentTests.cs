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
    [InlineData("/v1/settings/dkim/generate", "post")]
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

    [Fact]
    public async Task Generators_read_every_schema_as_what_the_API_writes()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var problems = new List<string>();
        void Walk(JsonElement e, string at)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in e.EnumerateArray())
                    Walk(item, $"{at}[{i++}]");
                return;
            }

            if (e.ValueKind != JsonValueKind.Object)
                return;
            var types = !e.TryGetProperty("type", out var t) ? [] : t.ValueKind switch
            {
                JsonValueKind.Array => t.EnumerateArray().Select(x => x.GetString()).ToList(),
                JsonValueKind.String => [t.GetString()],
                _ => [], // a member named "type" in `properties`
            };
            if (e.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && types.Count == 0)
                problems.Add($"{at}: enum without type");
            if (types.Contains("integer") && types.Contains("string"))
                problems.Add($"{at}: integer or string");
            if ((types.Contains("integer") || types.Contains("number")) && e.TryGetProperty("pattern", out _))
                problems.Add($"{at}: a number with a pattern");
            if (at.StartsWith("components/schemas/", StringComparison.Ordinal) && at.Count(c => c == '/') == 2 && !e.EnumerateObject().Any())
                problems.Add($"{at}: empty schema");
            foreach (var member in e.EnumerateObject())
                Walk(member.Value, $"{at}/{member.Name}");
        }

        Walk(doc.RootElement.GetProperty("components"), "components");
        Walk(doc.RootElement.GetProperty("paths"), "paths");
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("ApplicationResponse", "status", "active,rejected,withdrawn,hired")]
    [InlineData("UpsertApplicationRequest", "status", "active,withdrawn,hired,")]
    [InlineData("CreateWebhookRequest", "events", "feedback.requested,feedback.approved,delivery.sent,delivery.failed,delivery.cancelled")]
    [InlineData("WebhookAttemptResponse", "outcome", "delivered,http-error,timeout,network-error,refused-address,redirect-not-followed,subscription-disabled,secret-unreadable,in-progress,interrupted,not-sent")]
    [InlineData("SettingsResponse", "jurisdiction", "US,UK,DE")]
    [InlineData("DkimSettingsResponse", "status", "signing,unsigned,domainMismatch,keyUnreadable")]
    [InlineData("CandidateRequestView", "status", "open,requested,sent,closed")]
    public async Task Strings_with_a_closed_set_of_values_are_enums(string schema, string member, string values)
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var property = doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").GetProperty(member);
        if (property.TryGetProperty("items", out var items))
            property = items;
        Assert.Equal(values, string.Join(',', property.GetProperty("enum").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? string.Empty : v.GetString())));
    }

    [Fact]
    public async Task Headers_clients_send_and_read_are_declared()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var paths = doc.RootElement.GetProperty("paths");
        static List<string> Headers(JsonElement response) => response.TryGetProperty("headers", out var h) ? h.EnumerateObject().Select(x => x.Name).ToList() : [];
        foreach (var path in paths.EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                var responses = operation.Value.GetProperty("responses");
                var parameters = operation.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().Select(x => x.GetProperty("name").GetString()).ToList() : [];
                foreach (var response in responses.EnumerateObject())
                {
                    Assert.True(Headers(response.Value).Contains("X-Request-Id"), $"{where} {response.Name} does not declare X-Request-Id");
                    if (response.Name == "201")
                        Assert.True(Headers(response.Value).Contains("Location"), $"{where} 201 does not declare Location");
                    if (response.Name == "429")
                        Assert.True(Headers(response.Value).Contains("Retry-After"), $"{where} 429 does not declare Retry-After");
                }

                if (responses.TryGetProperty("412", out _))
                    Assert.True(parameters.Contains("If-Match"), $"{where} answers 412 but takes no If-Match");
                if (parameters.Contains("Idempotency-Key"))
                    Assert.True(responses.EnumerateObject().Where(r => r.Name.StartsWith('2')).All(r => Headers(r.Value).Contains("Idempotency-Replayed")), $"{where} does not declare Idempotency-Replayed");
                if (parameters.Contains("after"))
                    Assert.True(Headers(responses.GetProperty("200")).Contains("Link"), $"{where} is paged but does not declare Link");
            }
        }

        Assert.Contains("ETag", Headers(paths.GetProperty("/v1/feedback/{id}").GetProperty("get").GetProperty("responses").GetProperty("200")));
        Assert.Contains("Content-Disposition", Headers(paths.GetProperty("/v1/candidates/{id}/export").GetProperty("get").GetProperty("responses").GetProperty("200")));
    }

    [Fact]
    public async Task A_path_parameter_named_id_is_always_FeedbackHubs_uuid()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (!operation.Value.TryGetProperty("parameters", out var parameters))
                    continue;
                foreach (var id in parameters.EnumerateArray().Where(x => x.GetProperty("in").GetString() == "path" && x.GetProperty("name").GetString() == "id"))
                    Assert.True(id.GetProperty("schema").TryGetProperty("format", out var f) && f.GetString() == "uuid", $"{operation.Name.ToUpperInvariant()} {path.Name}: id is not a uuid");
            }
        }

        var upsert = doc.RootElement.GetProperty("paths").GetProperty("/v1/applications/by-external-id/{externalId}").GetProperty("put");
        Assert.Equal("UpsertApplication", upsert.GetProperty("operationId").GetString());
    }

    [Fact]
    public async Task Webhook_bodies_are_named_schemas_sharing_one_envelope_with_type_as_discriminator()
    {
        using var doc = JsonDocument.Parse(await DocumentAsync());
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        var envelope = schemas.GetProperty("WebhookEvent");
        var mapping = envelope.GetProperty("discriminator").GetProperty("mapping");
        Assert.Equal("type", envelope.GetProperty("discriminator").GetProperty("propertyName").GetString());
        var types = Domain.Webhooks.WebhookEventTypes.All.Append(Domain.Webhooks.WebhookEventTypes.Ping).ToList();
        Assert.Equal(types.Count, envelope.GetProperty("oneOf").GetArrayLength());
        foreach (var type in types)
        {
            var reference = mapping.GetProperty(type).GetString()!;
            var name = reference[(reference.LastIndexOf('/') + 1)..];
            Assert.Equal(type, schemas.GetProperty(name).GetProperty("properties").GetProperty("type").GetProperty("enum")[0].GetString());
            var body = doc.RootElement.GetProperty("webhooks").GetProperty(type).GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
            Assert.Equal(reference, body.GetProperty("$ref").GetString());
        }
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
