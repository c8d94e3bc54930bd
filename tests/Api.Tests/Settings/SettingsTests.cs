using System.Net;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Settings;

public sealed class SettingsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task New_tenant_shows_the_documented_defaults()
    {
        var tenant = await api.CreateTenantAsync("Defaults Ltd");
        var settings = await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>();
        Assert.Equal(tenant.Id, settings.TenantId);
        Assert.Equal("Defaults Ltd", settings.Name);
        Assert.Equal(2 * 24 * 60, settings.CoolingOffMinutes);
        Assert.Equal(30, settings.RequestWindowDays);
        Assert.Equal(12, settings.RetentionMonths);
        Assert.False(settings.AllowPrivateWebhookTargets);
    }

    [Fact]
    public async Task Patch_changes_only_the_given_fields_and_audits_their_names()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { ReplyTo = "talent@acme.example" });
        var changed = await (await tenant.Admin.PatchAsync("/v1/settings",
                HttpAssertions.JsonBody(new { coolingOffMinutes = 90, retentionMonths = 6, jurisdiction = "UK" })))
            .ReadAsync<SettingsResponse>();
        Assert.Equal(90, changed.CoolingOffMinutes);
        Assert.Equal(6, changed.RetentionMonths);
        Assert.Equal("UK", changed.Jurisdiction);
        Assert.Equal("talent@acme.example", changed.ReplyTo);
        Assert.Equal(30, changed.RequestWindowDays);

        var reread = await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>();
        Assert.Equal(changed, reread);

        var audit = await (await tenant.Admin.GetAsync("/v1/audit")).Content.ReadAsStringAsync();
        Assert.Contains("tenant.settings-changed", audit, StringComparison.Ordinal);
        Assert.Contains("retentionMonths", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_reply_to_removes_it_and_an_unchanged_patch_records_nothing()
    {
        var tenant = await api.CreateTenantAsync(settings: TenantSettings.Default with { ReplyTo = "talent@acme.example" });
        var cleared = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { replyTo = "" }))).ReadAsync<SettingsResponse>();
        Assert.Null(cleared.ReplyTo);

        var before = await AuditCountAsync(tenant);
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { retentionMonths = 12 }))).ReadAsync<SettingsResponse>();
        Assert.Equal(before, await AuditCountAsync(tenant));
    }

    [Fact]
    public async Task Out_of_range_values_answer_422_with_every_bad_field_and_change_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings",
                HttpAssertions.JsonBody(new { retentionMonths = 0, requestWindowDays = 400, senderAddress = "not-an-address" })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("retentionMonths", out _));
        Assert.True(errors.TryGetProperty("requestWindowDays", out _));
        Assert.True(errors.TryGetProperty("senderAddress", out _));

        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { jurisdiction = "FR", coolingOffMinutes = -1 })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        var settings = await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>();
        Assert.Equal(12, settings.RetentionMonths);
        Assert.Equal("US", settings.Jurisdiction);
    }

    [Fact]
    public async Task Unknown_field_answers_400()
    {
        var tenant = await api.CreateTenantAsync();
        await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { retention = 3 })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-json");
    }

    [Fact]
    public async Task Private_webhook_targets_cannot_be_allowed_where_the_operator_does_not_allow_them()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { allowPrivateWebhookTargets = true })))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        Assert.True(problem.GetProperty("errors").TryGetProperty("allowPrivateWebhookTargets", out _));
        Assert.False((await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>()).AllowPrivateWebhookTargets);
    }

    [Fact]
    public async Task Private_webhook_targets_can_be_allowed_in_a_development_deployment()
    {
        IAsyncLifetime development = new ApiFactory { Settings = { ["FeedbackHub:AllowPrivateWebhookTargets"] = "true" } };
        await development.InitializeAsync();
        try
        {
            var tenant = await ((ApiFactory)development).CreateTenantAsync();
            var changed = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { allowPrivateWebhookTargets = true })))
                .ReadAsync<SettingsResponse>();
            Assert.True(changed.AllowPrivateWebhookTargets);
        }
        finally
        {
            await development.DisposeAsync();
        }
    }

    private static async Task<long> AuditCountAsync(TestTenant tenant) =>
        (await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<FeedbackHub.Api.Features.Audit.AuditVerification>()).CheckedEvents;
}
