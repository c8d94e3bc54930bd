using System.Net;
using FeedbackHub.Api.Features.ApiKeys;
using FeedbackHub.Api.Features.People;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Domain.People;
using FeedbackHub.Tests;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Api.Tests.People;

public sealed class PeopleTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Invite_creates_an_invited_person_and_queues_their_invitation_email_in_the_same_transaction()
    {
        var tenant = await api.CreateTenantAsync();
        var email = Email("ivy");
        var person = await (await tenant.Admin.PostJsonAsync("/v1/people", new { email, displayName = "Ivy Interviewer", roles = new[] { "interviewer" } }))
            .ReadAsync<PersonResponse>(HttpStatusCode.Created);
        Assert.Equal("invited", person.Status);
        Assert.Equal(["interviewer"], person.Roles);

        await using var db = api.Database.CreateDbContext();
        var queued = await db.PersonEmails.SingleAsync(e => e.PersonId == person.Id);
        Assert.Equal(PersonEmailKind.Invitation, queued.Kind);
        Assert.Contains(await db.OutboxMessages.Select(m => m.Body).ToListAsync(), b => b.Contains(queued.Id.ToString(), StringComparison.Ordinal));
        var listed = await (await tenant.Admin.GetAsync("/v1/people")).ReadAsync<Page<PersonResponse>>();
        Assert.Contains(listed.Items, p => p.Id == person.Id);
    }

    [Fact]
    public async Task An_address_holds_one_account_and_roles_are_checked()
    {
        var tenant = await api.CreateTenantAsync();
        var other = await api.CreateTenantAsync();
        var email = Email("dup");
        (await tenant.Admin.PostJsonAsync("/v1/people", new { email, displayName = "First", roles = new[] { "recruiter" } })).EnsureSuccessStatusCode();
        await (await other.Admin.PostJsonAsync("/v1/people", new { email = email.ToUpperInvariant(), displayName = "Second", roles = new[] { "recruiter" } }))
            .AssertProblemAsync(HttpStatusCode.Conflict, "email-taken");
        var invalid = await (await tenant.Admin.PostJsonAsync("/v1/people", new { email = Email("bot"), displayName = "Bot", roles = new[] { "integration" } }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        Assert.True(invalid.GetProperty("errors").TryGetProperty("roles[0]", out _));
        await (await tenant.Admin.PostJsonAsync("/v1/people", new { email = "not-an-address", displayName = "X", roles = new[] { "legal" } }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
    }

    [Fact]
    public async Task Another_tenants_person_is_not_found_for_every_operation()
    {
        var mine = await api.CreateTenantAsync();
        var theirs = await api.CreateTenantAsync();
        var person = await InviteAsync(theirs, "recruiter");
        await (await mine.Admin.GetAsync($"/v1/people/{person.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await mine.Admin.PutJsonAsync($"/v1/people/{person.Id}/roles", new { roles = new[] { "admin" } })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await mine.Admin.PostAsync($"/v1/people/{person.Id}/invitation", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await mine.Admin.DeleteAsync($"/v1/people/{person.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await mine.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "k", roles = new[] { "recruiter" }, personId = person.Id }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        var still = await (await theirs.Admin.GetAsync($"/v1/people/{person.Id}")).ReadAsync<PersonResponse>();
        Assert.Equal(["recruiter"], still.Roles);
        Assert.Equal("invited", still.Status);
    }

    [Fact]
    public async Task One_person_with_two_personal_keys_still_cannot_approve_their_own_feedback()
    {
        var tenant = await api.CreateTenantAsync();
        var riley = (await PeopleSteps.JoinedAsync(tenant, "Riley", "recruiter")).Id;
        var writing = api.ClientWithKey(await PersonalKeyAsync(tenant, riley, "recruiter"));
        var reviewing = api.ClientWithKey(await PersonalKeyAsync(tenant, riley, "recruiter"));
        var id = await FeedbackWorkflowTests.StartAsync(tenant, writing);
        (await FeedbackWorkflowTests.SaveAsync(writing, id, FeedbackWorkflowTests.CleanAnswers, null)).EnsureSuccessStatusCode();
        (await writing.PostJsonAsync($"/v1/feedback/{id}/submit", new { })).EnsureSuccessStatusCode();

        await (await reviewing.PostJsonAsync($"/v1/feedback/{id}/approve", new { })).AssertProblemAsync(HttpStatusCode.Forbidden, "own-feedback");
        var colleague = await tenant.ClientAsync("recruiter");
        (await colleague.PostJsonAsync($"/v1/feedback/{id}/approve", new { })).EnsureSuccessStatusCode();

        // The audit log names the person, whichever of their keys acted.
        await using var db = api.Database.CreateDbContext();
        var actors = await db.AuditEvents.Where(e => e.SubjectId == id && e.Action != "feedback.approved").Select(e => e.ActorId).Distinct().ToListAsync();
        Assert.Equal([riley], actors);
    }

    [Fact]
    public async Task A_personal_key_holds_only_its_persons_roles_and_dies_with_their_removal()
    {
        var tenant = await api.CreateTenantAsync();
        var person = (await PeopleSteps.JoinedAsync(tenant, "Ivy", "interviewer")).Id;
        await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "too much", roles = new[] { "admin" }, personId = person }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var key = await PersonalKeyAsync(tenant, person, "interviewer");
        var client = api.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/templates")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/people/{person}")).StatusCode);
        await (await client.GetAsync("/v1/templates")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        var removed = await (await tenant.Admin.GetAsync($"/v1/people/{person}")).ReadAsync<PersonResponse>();
        Assert.Equal("removed", removed.Status);
        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/people/{person}")).StatusCode); // again: nothing changes
    }

    [Fact]
    public async Task Losing_a_role_revokes_the_personal_keys_that_hold_it()
    {
        var tenant = await api.CreateTenantAsync();
        var person = (await PeopleSteps.JoinedAsync(tenant, "Riley", "recruiter", "interviewer")).Id;
        var recruiterKey = api.ClientWithKey(await PersonalKeyAsync(tenant, person, "recruiter"));
        var interviewerKey = api.ClientWithKey(await PersonalKeyAsync(tenant, person, "interviewer"));
        var changed = await (await tenant.Admin.PutJsonAsync($"/v1/people/{person}/roles", new { roles = new[] { "interviewer" } })).ReadAsync<PersonResponse>();
        Assert.Equal(["interviewer"], changed.Roles);
        await (await recruiterKey.GetAsync("/v1/templates")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await interviewerKey.GetAsync("/v1/templates")).StatusCode);
    }

    [Fact]
    public async Task Submitting_notifies_reviewers_but_not_the_author_and_requesting_changes_notifies_the_author()
    {
        var tenant = await api.CreateTenantAsync();
        var author = (await PeopleSteps.JoinedAsync(tenant, "Riley", "recruiter")).Id;
        var reviewer = (await PeopleSteps.JoinedAsync(tenant, "Rae", "recruiter")).Id;
        var lawyer = (await PeopleSteps.JoinedAsync(tenant, "Lee", "legal")).Id;
        var interviewer = (await PeopleSteps.JoinedAsync(tenant, "Ivy", "interviewer")).Id;
        var writing = api.ClientWithKey(await PersonalKeyAsync(tenant, author, "recruiter"));
        var reviewing = api.ClientWithKey(await PersonalKeyAsync(tenant, reviewer, "recruiter"));
        var id = await FeedbackWorkflowTests.StartAsync(tenant, writing);
        (await FeedbackWorkflowTests.SaveAsync(writing, id, FeedbackWorkflowTests.CleanAnswers, null)).EnsureSuccessStatusCode();
        (await writing.PostJsonAsync($"/v1/feedback/{id}/submit", new { })).EnsureSuccessStatusCode();

        await using (var db = api.Database.CreateDbContext())
        {
            var waiting = await db.PersonEmails.Where(e => e.Kind == PersonEmailKind.AwaitingApproval && e.TenantId == tenant.Id).Select(e => e.PersonId).ToListAsync();
            Assert.Equal(new[] { reviewer, lawyer }.Order(), waiting.Order());
        }

        (await reviewing.PostJsonAsync($"/v1/feedback/{id}/request-changes", new { comment = "Say more about the design exercise." })).EnsureSuccessStatusCode();
        await using (var db = api.Database.CreateDbContext())
        {
            var changes = await db.PersonEmails.Where(e => e.Kind == PersonEmailKind.ChangesRequested && e.TenantId == tenant.Id).ToListAsync();
            var email = Assert.Single(changes);
            Assert.Equal(author, email.PersonId);
            Assert.NotNull(email.AboutApplicationId);
            Assert.DoesNotContain(await db.PersonEmails.Where(e => e.TenantId == tenant.Id).Select(e => e.PersonId).ToListAsync(), p => p == interviewer);
        }
    }

    [Fact]
    public async Task Resending_an_invitation_works_only_until_the_person_joins()
    {
        var tenant = await api.CreateTenantAsync();
        var invited = await InviteAsync(tenant, "legal");
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin.PostAsync($"/v1/people/{invited.Id}/invitation", null)).StatusCode);
        var joined = (await PeopleSteps.JoinedAsync(tenant, "Lee", "legal")).Id;
        await (await tenant.Admin.PostAsync($"/v1/people/{joined}/invitation", null)).AssertProblemAsync(HttpStatusCode.Conflict, "already-joined");
        await using var db = api.Database.CreateDbContext();
        Assert.Equal(2, await db.PersonEmails.CountAsync(e => e.PersonId == invited.Id));
    }

    [Fact]
    public async Task Two_step_secrets_are_sealed_and_hashed_recovery_codes_work_once_and_an_admin_can_turn_two_step_off()
    {
        var tenant = await api.CreateTenantAsync();
        var other = await api.CreateTenantAsync();
        var joined = await PeopleSteps.JoinedAsync(tenant, "Tess Twostep", "interviewer");
        string key;
        IReadOnlyList<string> codes;
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<Person>>();
            var security = scope.ServiceProvider.GetRequiredService<PersonSecurity>();
            var person = (await users.FindByIdAsync(joined.Id.ToString()))!;
            var setup = await security.AuthenticatorSetupAsync(person);
            key = setup.Key.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
            Assert.StartsWith("otpauth://totp/FeedbackHub%3A", setup.Uri, StringComparison.Ordinal);
            Assert.Contains($"secret={key}", setup.Uri, StringComparison.Ordinal);
            Assert.Equal(setup, await security.AuthenticatorSetupAsync(person)); // the same key until it is on

            Assert.Null(await security.TurnOnTwoStepAsync(person, "12345")); // not a code
            Assert.False(person.TwoFactorEnabled);
            codes = (await security.TurnOnTwoStepAsync(person, PeopleSteps.AuthenticatorCode(key)))!;
            Assert.Equal(PersonSecurity.RecoveryCodeCount, codes.Distinct().Count());
            Assert.True(person.TwoFactorEnabled);

            // A code works once, typed in lower case and without its dash too.
            Assert.True(await users.RedeemTwoFactorRecoveryCodeAsync(person, codes[0].ToLowerInvariant().Replace("-", string.Empty, StringComparison.Ordinal)) is { Succeeded: true });
            Assert.False((await users.RedeemTwoFactorRecoveryCodeAsync(person, codes[0])).Succeeded);
            Assert.Equal(PersonSecurity.RecoveryCodeCount - 1, await users.CountRecoveryCodesAsync(person));
        }

        // Neither the key nor any recovery code is stored as it is.
        await using (var db = api.Database.CreateDbContext())
        {
            var stored = await db.Set<IdentityUserToken<Guid>>().Where(t => t.UserId == joined.Id).ToListAsync();
            Assert.Equal([PersonStore.AuthenticatorKeyName, PersonStore.RecoveryCodesName], stored.Select(t => t.Name).Order().ToArray());
            Assert.All(stored, t => Assert.DoesNotContain(key, t.Value!, StringComparison.OrdinalIgnoreCase));
            Assert.All(codes, c => Assert.All(stored, t => Assert.DoesNotContain(c.Replace("-", string.Empty, StringComparison.Ordinal), t.Value!.Replace("-", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase)));
        }

        Assert.True((await (await tenant.Admin.GetAsync($"/v1/people/{joined.Id}")).ReadAsync<PersonResponse>()).TwoStep);
        var interviewer = await tenant.ClientAsync("interviewer");
        await (await interviewer.DeleteAsync($"/v1/people/{joined.Id}/two-step")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await other.Admin.DeleteAsync($"/v1/people/{joined.Id}/two-step")).AssertProblemAsync(HttpStatusCode.NotFound);
        var off = await (await tenant.Admin.DeleteAsync($"/v1/people/{joined.Id}/two-step")).ReadAsync<PersonResponse>();
        Assert.False(off.TwoStep);
        await using (var db = api.Database.CreateDbContext())
        {
            Assert.False(await db.Set<IdentityUserToken<Guid>>().AnyAsync(t => t.UserId == joined.Id));
            Assert.True(await db.AuditEvents.AnyAsync(e => e.SubjectId == joined.Id && e.Action == "person.two-step-off"));
            Assert.True(await db.AuditEvents.AnyAsync(e => e.SubjectId == joined.Id && e.Action == "person.two-step-on" && e.ActorId == joined.Id));
        }
    }

    private static string Email(string name) => PeopleSteps.NewEmail(name);

    private static async Task<PersonResponse> InviteAsync(TestTenant tenant, params string[] roles) =>
        await (await tenant.Admin.PostJsonAsync("/v1/people", new { email = Email(roles[0]), displayName = "Person " + roles[0], roles }))
            .ReadAsync<PersonResponse>(HttpStatusCode.Created);

    private static async Task<string> PersonalKeyAsync(TestTenant tenant, Guid person, params string[] roles) =>
        (await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "personal", roles, personId = person }))
            .ReadAsync<CreatedApiKeyResponse>(HttpStatusCode.Created)).Secret;
}
