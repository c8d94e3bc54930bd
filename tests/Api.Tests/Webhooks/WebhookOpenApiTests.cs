using System.Text.Json;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Webhooks;

/// <summary>An integrator can build a receiver from the OpenAPI document alone: every event, its headers, payload and the signature scheme.</summary>
public sealed class WebhookOpenApiTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task The_document_describes_every_event_with_its_headers_payload_and_the_signature_example()
    {
        var json = await (await api.CreateClient().GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(json);
        var webhooks = doc.RootElement.GetProperty("webhooks");
        foreach (var type in WebhookEventTypes.All)
        {
            var post = webhooks.GetProperty(type).GetProperty("post");
            var headers = post.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
            Assert.Contains("FeedbackHub-Signature", headers);
            Assert.Contains("FeedbackHub-Event-Id", headers);
            var media = post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
            Assert.Equal(type, media.GetProperty("example").GetProperty("type").GetString());
            var name = media.GetProperty("schema").GetProperty("$ref").GetString()!.Split('/')[^1];
            Assert.True(doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(name).GetProperty("properties").TryGetProperty("data", out _));
        }

        var description = doc.RootElement.GetProperty("info").GetProperty("description").GetString()!;
        Assert.Contains("t=1767225600,v1=bd9e74a92dec41fb9452f6cf154efad7a5c1983375aee660bead4159fa1288fe", description, StringComparison.Ordinal);
        Assert.Equal("bd9e74a92dec41fb9452f6cf154efad7a5c1983375aee660bead4159fa1288fe",
            WebhookSignature.Compute("whsec_S2V5Rm9yRG9jdW1lbnRhdGlvbk9ubHlOb3RSZWFsMDA", 1767225600, ExampleBody(description)));
    }

    /// <summary>The one-line body quoted in the description's worked example.</summary>
    private static string ExampleBody(string description)
    {
        var start = description.IndexOf("`{\"id\"", StringComparison.Ordinal) + 1;
        var end = description.IndexOf("}}`", start, StringComparison.Ordinal) + 2;
        return description[start..end];
    }
}
