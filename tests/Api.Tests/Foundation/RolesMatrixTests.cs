using System.Net;
using System.Text;
using FeedbackHub.Tests;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>
/// Every operation called with every role: a role outside the operation's list answers 403; a role inside it
/// gets past authorization (here usually 400/404, since the ids and bodies are dummies) and never a 500.
/// The table must name every mapped operation, so a new endpoint cannot ship without its roles stated here.
/// </summary>
public sealed class RolesMatrixTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private const string Id = "01a20000-0000-7000-8000-000000000001";
    private static readonly string[] AllRoles = ["admin", "recruiter", "interviewer", "legal", "integration"];

    private static readonly (string Operation, string Method, string Url, string? Body, string[] Roles)[] Table =
    [
        ("CreateApiKey", "POST", "/v1/api-keys", "{}", ["admin"]),
        ("ListApiKeys", "GET", "/v1/api-keys", null, ["admin"]),
        ("GetApiKey", "GET", $"/v1/api-keys/{Id}", null, ["admin"]),
        ("RevokeApiKey", "DELETE", $"/v1/api-keys/{Id}", null, ["admin"]),
        ("InvitePerson", "POST", "/v1/people", "{}", ["admin"]),
        ("ListPeople", "GET", "/v1/people", null, ["admin"]),
        ("GetPerson", "GET", $"/v1/people/{Id}", null, ["admin"]),
        ("ChangePersonRoles", "PUT", $"/v1/people/{Id}/roles", "{}", ["admin"]),
        ("ResendPersonInvitation", "POST", $"/v1/people/{Id}/invitation", null, ["admin"]),
        ("RemovePerson", "DELETE", $"/v1/people/{Id}", null, ["admin"]),
        ("TurnOffPersonTwoStep", "DELETE", $"/v1/people/{Id}/two-step", null, ["admin"]),
        ("ListAuditEvents", "GET", "/v1/audit", null, ["admin", "legal"]),
        ("VerifyAuditLog", "GET", "/v1/audit/verify", null, ["admin", "legal"]),
        ("GetAuditCheckpoint", "GET", "/v1/audit/checkpoint", null, ["admin", "legal"]),
        ("GetAuditConsistencyProof", "GET", "/v1/audit/consistency?from=1", null, ["admin", "legal"]),
        ("GetAuditInclusionProof", "GET", $"/v1/audit/{Id}/proof", null, ["admin", "legal"]),
        ("SendTestEmail", "POST", "/v1/diagnostics/test-email", "{}", ["admin"]),
        ("GetTestEmail", "GET", $"/v1/diagnostics/test-email/{Id}", null, ["admin"]),
        ("UpsertApplication", "PUT", "/v1/applications/by-external-id/ext-1", "{}", ["integration", "recruiter"]),
        ("ListApplications", "GET", "/v1/applications", null, ["integration", "recruiter", "legal", "admin"]),
        ("GetApplication", "GET", $"/v1/applications/{Id}", null, ["integration", "recruiter", "legal", "admin", "interviewer"]),
        ("CreateTemplate", "POST", "/v1/templates", "{}", ["recruiter", "legal"]),
        ("ListTemplates", "GET", "/v1/templates", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("GetTemplate", "GET", $"/v1/templates/{Id}", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("GetTemplateVersion", "GET", $"/v1/templates/{Id}/versions/1", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("SaveTemplateDraft", "PUT", $"/v1/templates/{Id}/draft", "{}", ["recruiter", "legal"]),
        ("SubmitTemplateVersion", "POST", $"/v1/templates/{Id}/versions/1/submit", null, ["recruiter", "legal"]),
        ("PublishTemplateVersion", "POST", $"/v1/templates/{Id}/versions/1/publish", null, ["legal"]),
        ("RetireTemplateVersion", "POST", $"/v1/templates/{Id}/versions/1/retire", null, ["legal"]),
        ("StartFeedback", "POST", "/v1/feedback", "{}", ["interviewer", "recruiter"]),
        ("ListFeedback", "GET", "/v1/feedback", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("GetFeedback", "GET", $"/v1/feedback/{Id}", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("SaveFeedbackAnswers", "PUT", $"/v1/feedback/{Id}/answers", "{}", ["interviewer", "recruiter"]),
        ("SubmitFeedback", "POST", $"/v1/feedback/{Id}/submit", "{}", ["interviewer", "recruiter"]),
        ("ApproveFeedback", "POST", $"/v1/feedback/{Id}/approve", null, ["recruiter", "legal"]),
        ("RequestFeedbackChanges", "POST", $"/v1/feedback/{Id}/request-changes", "{}", ["recruiter", "legal"]),
        ("CheckText", "POST", "/v1/language/check", "{}", ["admin", "recruiter", "interviewer", "legal", "integration"]),
        ("CheckTextBatch", "POST", "/v1/language/check-batch", "{}", ["admin", "recruiter", "interviewer", "legal", "integration"]),
        ("GetLanguageRules", "GET", "/v1/language/rules", null, ["admin", "recruiter", "interviewer", "legal", "integration"]),
        ("ListTenantLanguageRules", "GET", "/v1/language/tenant-rules", null, ["admin", "legal", "recruiter"]),
        ("AddTenantLanguageRule", "POST", "/v1/language/tenant-rules", "{}", ["admin", "legal"]),
        ("RemoveTenantLanguageRule", "DELETE", $"/v1/language/tenant-rules/{Id}", null, ["admin", "legal"]),
        ("RejectApplication", "POST", $"/v1/applications/{Id}/rejection", "{}", ["integration", "recruiter"]),
        ("ListDeliveries", "GET", "/v1/deliveries", null, ["admin", "recruiter", "legal"]),
        ("GetDelivery", "GET", $"/v1/deliveries/{Id}", null, ["admin", "recruiter", "legal"]),
        ("CancelDelivery", "POST", $"/v1/deliveries/{Id}/cancel", null, ["recruiter"]),
        ("RetryDelivery", "POST", $"/v1/deliveries/{Id}/retry", null, ["recruiter"]),
        ("PreviewFeedbackEmail", "GET", $"/v1/feedback/{Id}/preview", null, ["admin", "recruiter", "interviewer", "legal"]),
        ("GetSettings", "GET", "/v1/settings", null, ["admin", "legal"]),
        ("ChangeSettings", "PATCH", "/v1/settings", "{\"retentionMonths\": 0}", ["admin"]),
        ("GenerateDkimKey", "POST", "/v1/settings/dkim/generate", "{}", ["admin"]),
        ("ActivateDkimKey", "POST", "/v1/settings/dkim/activate", "{}", ["admin"]),
        ("CreateWebhook", "POST", "/v1/webhooks", "{}", ["admin"]),
        ("ListWebhooks", "GET", "/v1/webhooks", null, ["admin"]),
        ("GetWebhook", "GET", $"/v1/webhooks/{Id}", null, ["admin"]),
        ("UpdateWebhook", "PATCH", $"/v1/webhooks/{Id}", "{}", ["admin"]),
        ("DeleteWebhook", "DELETE", $"/v1/webhooks/{Id}", null, ["admin"]),
        ("RotateWebhookSecret", "POST", $"/v1/webhooks/{Id}/rotate-secret", null, ["admin"]),
        ("PingWebhook", "POST", $"/v1/webhooks/{Id}/ping", null, ["admin"]),
        ("ListWebhookDeliveries", "GET", $"/v1/webhooks/{Id}/deliveries", null, ["admin"]),
        ("GetWebhookDelivery", "GET", $"/v1/webhooks/{Id}/deliveries/{Id}", null, ["admin"]),
        ("RedeliverWebhook", "POST", $"/v1/webhooks/{Id}/deliveries/{Id}/redeliver", null, ["admin"]),
        ("FindCandidate", "GET", "/v1/candidates?externalId=ext-1", null, ["admin", "integration", "recruiter", "legal"]),
        ("EraseCandidate", "DELETE", $"/v1/candidates/{Id}", null, ["admin", "integration"]),
        ("ExportCandidate", "GET", $"/v1/candidates/{Id}/export", null, ["admin", "integration", "legal"]),
        ("SetLegalHold", "PUT", $"/v1/applications/{Id}/legal-hold", "{}", ["admin", "legal"]),
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var row in Table)
        {
            foreach (var role in AllRoles)
                data.Add(row.Operation, role);
        }

        return data;
    }

    public static TheoryData<string> BodyOperations()
    {
        var data = new TheoryData<string>();
        foreach (var row in Table.Where(r => r.Body is not null))
            data.Add(row.Operation);
        return data;
    }

    [Fact]
    public void The_table_names_every_mapped_operation()
    {
        var mapped = api.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null) // candidate-facing: the token is the credential
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName)
            .OfType<string>()
            .ToHashSet();
        var missing = mapped.Except(Table.Select(r => r.Operation)).ToList();
        Assert.True(missing.Count == 0, "Add these operations to the roles matrix: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Role_is_allowed_exactly_when_the_operation_lists_it(string operation, string role)
    {
        var row = Table.Single(r => r.Operation == operation);
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync(role);
        var response = await client.SendAsync(Request(row.Method, row.Url, row.Body));
        if (row.Roles.Contains(role))
        {
            Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.True((int)response.StatusCode < 500, $"{operation} as {role} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        else
        {
            await response.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        }
    }

    [Theory]
    [MemberData(nameof(BodyOperations))]
    public async Task Malformed_and_unexpected_bodies_answer_400_on_every_operation_that_takes_one(string operation)
    {
        var row = Table.Single(r => r.Operation == operation);
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync(row.Roles);
        foreach (var body in new[] { "{\"a\":", "[1,2]", "{\"surprise\": true}", "\"text\"" })
            await (await client.SendAsync(Request(row.Method, row.Url, body))).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public void Anonymous_operations_are_only_the_candidate_facing_ones()
    {
        var anonymous = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            .Select(e => e.RoutePattern.RawText!)
            .Where(p => p.StartsWith("/v1", StringComparison.Ordinal))
            .Distinct()
            .Order()
            .ToList();
        Assert.Equal(["/v1/public/feedback-requests/{token}"], anonymous);
    }

    [Fact]
    public async Task Every_operation_without_a_key_answers_401()
    {
        var client = api.CreateClient();
        foreach (var row in Table)
            await (await client.SendAsync(Request(row.Method, row.Url, row.Body))).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    private static HttpRequestMessage Request(string method, string url, string? body) =>
        new(new HttpMethod(method), url) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
}
