using System.Text.Json;
using FeedbackHub.Api.Features.Requests;

namespace FeedbackHub.Tests;

/// <summary>The ATS side of a candidate's story over the API (integration key), shared by the API and browser tests.</summary>
public static class ApplicationSteps
{
    /// <summary>Creates an application (and its candidate) as an ATS does; returns its id.</summary>
    /// <param name="email">The candidate's address; a new <see cref="MailSink.NewAddress"/> when null.</param>
    public static async Task<Guid> ApplicationAsync(TestTenant tenant, string firstName = "Ada", string position = "Backend Engineer", string? email = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var ats = await tenant.ClientAsync("integration");
        var external = "app-" + Guid.NewGuid().ToString("N")[..10];
        var response = await ats.PutAsync($"/v1/applications/by-external-id/{external}", HttpAssertions.JsonBody(new
        {
            candidate = new { externalId = "cand-" + external, firstName, lastName = "Lovelace", email = email ?? MailSink.NewAddress() },
            positionTitle = position,
            stageReached = "onsite",
        }));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(response.IsSuccessStatusCode, doc.RootElement.ToString());
        return doc.RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>Rejects the application as the ATS does; the answer carries the candidate's personal link.</summary>
    public static async Task<RejectionResponse> RejectAsync(TestTenant tenant, Guid applicationId, DateTimeOffset? at = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var ats = await tenant.ClientAsync("integration");
        return await (await ats.PostJsonAsync($"/v1/applications/{applicationId}/rejection", new { rejectedAt = at })).ReadAsync<RejectionResponse>();
    }

    /// <summary>The token at the end of a personal link (<c>.../r/{token}</c>).</summary>
    public static string Token(RejectionResponse rejection) => Token((rejection ?? throw new ArgumentNullException(nameof(rejection))).RequestUrl);

    public static string Token(string link) => link[(link.LastIndexOf('/') + 1)..];
}
