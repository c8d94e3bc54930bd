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

    [Fact]
    public async Task Email_footer_defaults_to_the_reply_to_address_and_retention_then_follows_the_tenants_own_texts()
    {
        var tenant = await api.CreateTenantAsync("Footer Ltd", TenantSettings.Default with { ReplyTo = "talent@footer.example", RetentionMonths = 6 });
        var defaults = await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>();
        Assert.Null(defaults.ContactText);
        Assert.Null(defaults.PrivacyText);
        Assert.Equal("Questions about this feedback? Write to talent@footer.example.", defaults.EmailFooter.Contact);
        Assert.StartsWith("Footer Ltd keeps your application data for 6 months", defaults.EmailFooter.Privacy, StringComparison.Ordinal);
        Assert.Contains("erased sooner, write to talent@footer.example.", defaults.EmailFooter.Privacy, StringComparison.Ordinal);

        var own = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new
        {
            contactText = " Questions? Write to Sam Lee at sam@footer.example. ",
            privacyText = "We delete application data after six months. Ask privacy@footer.example to erase it sooner.",
        }))).ReadAsync<SettingsResponse>();
        Assert.Equal("Questions? Write to Sam Lee at sam@footer.example.", own.ContactText);
        Assert.Equal(new FeedbackHub.Domain.Rendering.EmailFooter(own.ContactText!, own.PrivacyText!), own.EmailFooter);
        var audit = await (await tenant.Admin.GetAsync("/v1/audit")).Content.ReadAsStringAsync();
        Assert.Contains("contactText", audit, StringComparison.Ordinal);

        var reset = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { contactText = "" }))).ReadAsync<SettingsResponse>();
        Assert.Null(reset.ContactText);
        Assert.Equal(defaults.EmailFooter.Contact, reset.EmailFooter.Contact);
        Assert.Equal(own.PrivacyText, reset.EmailFooter.Privacy);
    }

    [Fact]
    public async Task Contact_and_privacy_texts_with_blocking_language_answer_422_with_the_findings_and_change_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new
        {
            contactText = "Questions? Our recruiter, who wanted a digital native, will answer them.",
            privacyText = "We keep your data because at your age you may apply again.",
        }))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "language-blocked");
        var findings = problem.GetProperty("findings").EnumerateArray().ToList();
        Assert.Contains(findings, f => f.GetProperty("path").GetString() == "contactText" && f.GetProperty("severity").GetString() == "block");
        Assert.Contains(findings, f => f.GetProperty("path").GetString() == "privacyText" && f.GetProperty("severity").GetString() == "block");
        Assert.All(findings, f => Assert.False(string.IsNullOrEmpty(f.GetProperty("suggestion").GetString())));
        var settings = await (await tenant.Admin.GetAsync("/v1/settings")).ReadAsync<SettingsResponse>();
        Assert.Null(settings.ContactText);
        Assert.Null(settings.PrivacyText);
    }

    [Fact]
    public async Task Contact_and_privacy_texts_that_are_too_long_or_hold_merge_fields_answer_422()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new
        {
            contactText = new string('a', TenantSettings.MaxFooterTextLength + 1),
            privacyText = "Write to {{company.name}}.",
        }))).AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "invalid-settings");
        Assert.True(problem.GetProperty("errors").TryGetProperty("contactText", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("privacyText", out _));
    }

    private static async Task<long> AuditCountAsync(TestTenant tenant) =>
        (await (await tenant.Admin.GetAsync("/v1/audit/verify")).ReadAsync<FeedbackHub.Api.Features.Audit.AuditVerification>()).CheckedEvents;
}
