using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.People;

public sealed record InvitePersonRequest(string Email, string DisplayName, [property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles);

public sealed record ChangePersonRolesRequest([property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles);

public sealed record PersonResponse(
    Guid Id, string Email, string DisplayName, [property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles,
    [property: ApiValues(typeof(PersonStatus))] string Status, bool TwoStep, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? RemovedAt)
{
    public static PersonResponse Of(Person p, DateTimeOffset now) => new(
        p.Id, p.Email ?? string.Empty, p.DisplayName, p.Roles, System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(p.StatusAt(now).ToString()),
        p.TwoFactorEnabled, p.CreatedAt, p.CreatedBy, p.RemovedAt);
}

/// <summary>The people who sign in to the web app (admins manage them; integrations keep using API keys).</summary>
public static class PeopleEndpoints
{
    public static IEndpointRouteBuilder MapPeopleEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/people").WithTags("People").RequireAuthorization(Policies.Admin);

        group.MapPost("/", InvitePerson).WithName("InvitePerson")
            .WithSummary("Invite a person")
            .WithDescription("Role `admin`. Emails the person a link to choose a password (valid 3 days). Roles: admin, recruiter, interviewer, legal. "
                + "An address can hold one account across all tenants (409 `email-taken`).")
            .ProducesAuthProblems().ProducesProblems(409, 422);
        group.MapGet("/", ListPeople).WithName("ListPeople")
            .WithSummary("List the tenant's people").WithDescription("Role `admin`. Oldest first; cursor paged.")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetPerson).WithName("GetPerson")
            .WithSummary("Get one person").WithDescription("Role `admin`.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapPut("/{id}/roles", ChangePersonRoles).WithName("ChangePersonRoles")
            .WithSummary("Change a person's roles")
            .WithDescription("Role `admin`. Takes effect on the person's next request; their personal API keys holding a role they lose are revoked. "
                + "Nobody changes their own roles (409 `own-account`).")
            .ProducesAuthProblems().ProducesProblems(404, 409, 422);
        group.MapPost("/{id}/invitation", ResendInvitation).WithName("ResendPersonInvitation")
            .WithSummary("Send a person's invitation again")
            .WithDescription("Role `admin`. Only while they have not chosen a password (409 `already-joined`).")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapDelete("/{id}", RemovePerson).WithName("RemovePerson")
            .WithSummary("Remove a person")
            .WithDescription("Role `admin`. They cannot sign in any more, their sessions end on their next request and their personal API keys are revoked. "
                + "What they wrote and approved stays, under their name. Removing a removed person changes nothing.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        group.MapDelete("/{id}/two-step", TurnOffTwoStep).WithName("TurnOffPersonTwoStep")
            .WithSummary("Turn off a person's two-step sign-in")
            .WithDescription("Role `admin`. For someone who lost their authenticator app and their recovery codes: they sign in with their password "
                + "alone and can set up two-step sign-in again in Settings. Their sessions end on their next request. Answers the person "
                + "(`twoStep: false`); for a person who had it off nothing changes. A removed person: 409 `person-removed`.")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        return app;
    }

    public static async Task<Created<PersonResponse>> InvitePerson(
        InvitePersonRequest request, CurrentActor caller, PeopleDirectory people, TimeProvider time, CancellationToken ct)
    {
        var person = await people.InviteAsync(caller.TenantId, caller.Actor, request.Email, request.DisplayName, request.Roles, ct);
        return TypedResults.Created($"/v1/people/{person.Id}", PersonResponse.Of(person, time.GetUtcNow()));
    }

    public static async Task<Ok<Page<PersonResponse>>> ListPeople(
        int? limit, string? after, CurrentActor caller, FeedbackHubDbContext db, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var tenantId = caller.TenantId;
        return TypedResults.Ok(await db.People.AsNoTracking().Where(p => p.TenantId == tenantId)
            .PageByIdAsync(p => p.Id, limit, after, p => PersonResponse.Of(p, now), ct));
    }

    public static async Task<Ok<PersonResponse>> GetPerson(Guid id, CurrentActor caller, PeopleDirectory people, TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(PersonResponse.Of(await people.GetAsync(caller.TenantId, id, ct), time.GetUtcNow()));

    public static async Task<Ok<PersonResponse>> ChangePersonRoles(
        Guid id, ChangePersonRolesRequest request, CurrentActor caller, PeopleDirectory people, TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(PersonResponse.Of(await people.ChangeRolesAsync(caller.TenantId, caller.Actor, id, request.Roles, ct), time.GetUtcNow()));

    public static async Task<Accepted<PersonResponse>> ResendInvitation(
        Guid id, CurrentActor caller, PeopleDirectory people, TimeProvider time, CancellationToken ct)
    {
        var person = await people.ResendInvitationAsync(caller.TenantId, caller.Actor, id, ct);
        return TypedResults.Accepted($"/v1/people/{person.Id}", PersonResponse.Of(person, time.GetUtcNow()));
    }

    public static async Task<Ok<PersonResponse>> TurnOffTwoStep(
        Guid id, CurrentActor caller, PersonSecurity security, TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(PersonResponse.Of(await security.TurnOffTwoStepForAsync(caller.TenantId, caller.Actor, id, ct), time.GetUtcNow()));

    public static async Task<NoContent> RemovePerson(Guid id, CurrentActor caller, PeopleDirectory people, CancellationToken ct)
    {
        await people.RemoveAsync(caller.TenantId, caller.Actor, id, ct);
        return TypedResults.NoContent();
    }
}
