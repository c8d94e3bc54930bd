using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Features.ApiKeys;

/// <param name="PersonId">Makes it a personal key: it acts as that person (audit log, four-eyes) and holds only roles they have.</param>
public sealed record CreateApiKeyRequest(string DisplayName, [property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles, Guid? PersonId = null);

/// <summary>An API key as listed (never with its secret).</summary>
public sealed record ApiKeyResponse(Guid Id, string DisplayName, [property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles, string Prefix, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? RevokedAt, Guid? PersonId);

/// <summary>The answer to creation: the only time the secret is shown.</summary>
public sealed record CreatedApiKeyResponse(Guid Id, string DisplayName, [property: ApiValues(typeof(Roles))] IReadOnlyList<string> Roles, string Prefix, DateTimeOffset CreatedAt, string Secret);

public static class ApiKeyEndpoints
{
    public static IEndpointRouteBuilder MapApiKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/api-keys").WithTags("API keys").RequireAuthorization(Policies.Admin);

        group.MapPost("/", CreateApiKey).WithName("CreateApiKey")
            .WithSummary("Create an API key")
            .WithDescription("Role `admin`. The secret is in this answer only; store it now. Roles: admin, recruiter, interviewer, legal, integration. "
                + "With `personId` the key is that person's: it acts as them and may hold only roles they have; removing them revokes it.")
            .ProducesAuthProblems().ProducesProblems(404, 409, 422);
        group.MapGet("/", ListApiKeys).WithName("ListApiKeys")
            .WithSummary("List the tenant's API keys").WithDescription("Role `admin`. Newest last; cursor paged.")
            .ProducesAuthProblems();
        group.MapGet("/{id}", GetApiKey).WithName("GetApiKey")
            .WithSummary("Get one API key").WithDescription("Role `admin`.")
            .ProducesAuthProblems().ProducesProblems(404);
        group.MapDelete("/{id}", RevokeApiKey).WithName("RevokeApiKey")
            .WithSummary("Revoke an API key")
            .WithDescription("Role `admin`. The key answers 401 from now on. Revoking a revoked key changes nothing. The tenant's last active admin key cannot be revoked (409).")
            .ProducesAuthProblems().ProducesProblems(404, 409);
        return app;
    }

    public static async Task<Created<CreatedApiKeyResponse>> CreateApiKey(
        CreateApiKeyRequest request, CurrentActor caller, FeedbackHubDbContext db, PeopleDirectory people, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        if (request.PersonId is { } personId)
        {
            var person = await people.GetAsync(caller.TenantId, personId, ct);
            if (!person.IsActive)
                throw DomainException.Conflict("person-removed", "This person was removed.");
            if ((request.Roles ?? []).Except(person.Roles).Any())
            {
                throw new DomainException(DomainErrorKind.Invalid, "validation", "A personal key holds only roles its person has.")
                {
                    Errors = new Dictionary<string, string[]> { ["roles"] = [$"The person's roles: {string.Join(", ", person.Roles)}."] },
                };
            }
        }

        var (key, secret) = ApiKey.Create(caller.TenantId, request.DisplayName, request.Roles ?? [], caller.Actor.Name, time.GetUtcNow(), request.PersonId);
        db.ApiKeys.Add(key);
        audit.Record(caller.TenantId, caller.Actor, "api-key.created", "api-key", key.Id, new { roles = key.Roles });
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/api-keys/{key.Id}",
            new CreatedApiKeyResponse(key.Id, key.DisplayName, key.Roles, key.Prefix, key.CreatedAt, secret));
    }

    public static async Task<Ok<Page<ApiKeyResponse>>> ListApiKeys(int? limit, string? after, FeedbackHubDbContext db, CancellationToken ct)
    {
        return TypedResults.Ok(await db.ApiKeys.AsNoTracking().PageByIdAsync(k => k.Id, limit, after, ToResponse, ct));
    }

    public static async Task<Results<Ok<ApiKeyResponse>, NotFound>> GetApiKey(Guid id, FeedbackHubDbContext db, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id, ct)
            ?? throw DomainException.NotFound("The API key");
        return TypedResults.Ok(ToResponse(key));
    }

    public static async Task<NoContent> RevokeApiKey(Guid id, CurrentActor caller, FeedbackHubDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == id, ct) ?? throw DomainException.NotFound("The API key");
        if (!key.IsActive)
            return TypedResults.NoContent();
        if (key.Roles.Contains(Roles.Admin))
        {
            var otherAdmins = await db.ApiKeys.CountAsync(k => k.Id != id && k.RevokedAt == null && k.Roles.Contains(Roles.Admin), ct);
            if (otherAdmins == 0)
                throw DomainException.Conflict("last-admin-key", "This is the tenant's last active admin key; create another admin key first.");
        }

        key.Revoke(time.GetUtcNow());
        audit.Record(caller.TenantId, caller.Actor, "api-key.revoked", "api-key", key.Id);
        await db.SaveChangesAsync(ct); // evicts the key from this replica's cache; the others as PostgreSQL notifies them (api_key_changed)
        return TypedResults.NoContent();
    }

    private static ApiKeyResponse ToResponse(ApiKey k) =>
        new(k.Id, k.DisplayName, k.Roles, k.Prefix, k.CreatedAt, k.CreatedBy, k.RevokedAt, k.OwnerId);
}
