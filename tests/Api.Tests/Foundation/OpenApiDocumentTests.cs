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
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m =>
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
}
