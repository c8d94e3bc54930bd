using System.Security.Claims;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>Claims an authenticated caller carries: an API key (<see cref="Scheme"/>) or a person's session.</summary>
public static class ApiKeyClaims
{
    public const string Scheme = "ApiKey";
    public const string TenantId = "fh:tenant";
    public const string KeyId = "fh:key";

    /// <summary>The person acting: signed in, or through their personal API key.</summary>
    public const string PersonId = "fh:person";
}

/// <summary>
/// <c>Authorization: Bearer fh_...</c>. The prefix finds the key (from <see cref="ApiKeyCache"/> when it holds it, so a
/// request usually costs no query for authentication), the SHA-256 of the whole token is compared in constant time,
/// revoked keys fail. 401 and 403 answer problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    FeedbackHubDbContext db,
    ApiKeyCache cache,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("Use 'Authorization: Bearer <api key>'.");

        var token = header["Bearer ".Length..].Trim();
        if (!ApiKey.TryParsePrefix(token, out var prefix))
            return AuthenticateResult.Fail("The API key is malformed.");

        var key = cache.Get(prefix);
        if (key is null)
        {
            var generation = cache.Generation;
            key = await db.ApiKeys.IgnoreQueryFilters().AsNoTracking()
                .SingleOrDefaultAsync(k => k.Prefix == prefix, Context.RequestAborted);
            if (key is not null)
                cache.Set(key, generation);
        }

        // Compare even when no row exists, so timing does not tell whether a prefix exists.
        var matches = key is not null ? key.Matches(token) : DummyKey.Matches(token);
        if (key is null || !matches || !key.IsActive)
            return AuthenticateResult.Fail("The API key is unknown or revoked.");

        var claims = new List<Claim>
        {
            new(ApiKeyClaims.TenantId, key.TenantId.ToString()),
            new(ApiKeyClaims.KeyId, key.Id.ToString()),
            new(ClaimTypes.Name, key.DisplayName),
        };
        if (key.OwnerId is { } owner)
            claims.Add(new Claim(ApiKeyClaims.PersonId, owner.ToString()));
        // Only known roles become claims: a stored value that is not one (a NULL, an old name) grants nothing and breaks nothing.
        claims.AddRange((key.Roles ?? []).Where(r => r is not null && Roles.IsKnown(r)).Select(r => new Claim(ClaimTypes.Role, r)));
        var identity = new ClaimsIdentity(claims, ApiKeyClaims.Scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyClaims.Scheme));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        var failure = Context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Failure?.Message;
        return WriteProblem(401, "unauthenticated", "Authentication required.",
            failure ?? "Send an API key as 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return WriteProblem(403, "forbidden", "Your API key's roles do not allow this operation.",
            "Ask a tenant admin for a key with the role this operation needs (see the operation's description).");
    }

    private async Task WriteProblem(int status, string code, string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = status, Type = Problems.Type(code), Title = title, Detail = detail },
        });

    private static readonly ApiKey DummyKey = ApiKey.Create(Guid.Empty, "dummy", [Roles.Admin], "dummy", DateTimeOffset.UnixEpoch).Key;
}

/// <summary>The caller of the current request, as the domain sees it.</summary>
public sealed class CurrentActor(IHttpContextAccessor accessor)
{
    private ClaimsPrincipal User => accessor.HttpContext?.User ?? new ClaimsPrincipal();

    public Guid TenantId =>
        Guid.TryParse(User.FindFirstValue(ApiKeyClaims.TenantId), out var id)
            ? id
            : throw new InvalidOperationException("No authenticated tenant in this request.");

    /// <summary>
    /// The person when one acts (a session or their personal key: four-eyes counts them once), else the API key.
    /// </summary>
    public Actor Actor =>
        new(Guid.TryParse(User.FindFirstValue(ApiKeyClaims.PersonId), out var personId) ? personId
            : Guid.TryParse(User.FindFirstValue(ApiKeyClaims.KeyId), out var keyId) ? keyId : null,
            User.FindFirstValue(ClaimTypes.Name) ?? "unknown");

    /// <summary>The signed-in person or the owner of the key, if any.</summary>
    public Guid? PersonId => Guid.TryParse(User.FindFirstValue(ApiKeyClaims.PersonId), out var id) ? id : null;

    public bool IsInRole(string role) => User.IsInRole(role);
}

/// <summary>
/// Scopes every query of a request to the caller's tenant; before authentication, to no tenant at all.
/// Only the host's one-shot commands turn on <see cref="SystemAccess"/>.
/// </summary>
internal sealed class HttpTenantScope(IHttpContextAccessor accessor) : ITenantScope
{
    public bool SystemAccess { get; set; }

    public Guid? TenantId =>
        SystemAccess ? null
        : Guid.TryParse(accessor.HttpContext?.User.FindFirstValue(ApiKeyClaims.TenantId), out var id) ? id : Guid.Empty;
}

/// <summary>Authorization policies: one per set of roles an operation accepts.</summary>
public static class Policies
{
    public const string Admin = "admin";
    public const string AuditReaders = "audit-readers";
    public const string TemplateReaders = "template-readers";
    public const string TemplateWriters = "template-writers";
    public const string Legal = "legal";
    public const string FeedbackAuthors = "feedback-authors";
    public const string FeedbackReviewers = "feedback-reviewers";
    public const string FeedbackReaders = "feedback-readers";
    public const string LanguageRuleReaders = "language-rule-readers";
    public const string DeliveryReaders = "delivery-readers";
    public const string DeliveryOperators = "delivery-operators";
    public const string LanguageRuleEditors = "language-rule-editors";

    /// <summary>Upsert candidates and applications: the ATS and recruiters.</summary>
    public const string ApplicationWriters = "application-writers";

    /// <summary>List and read applications.</summary>
    public const string ApplicationReaders = "application-readers";

    /// <summary>Read one application: the readers plus interviewers, who write feedback for it.</summary>
    public const string ApplicationViewers = "application-viewers";

    /// <summary>Find a candidate by the ATS's id.</summary>
    public const string CandidateReaders = "candidate-readers";

    /// <summary>Erase a candidate: the ATS (on the candidate's request) and admins.</summary>
    public const string CandidateErasers = "candidate-erasers";

    /// <summary>Export everything stored about a candidate (subject access requests).</summary>
    public const string CandidateExporters = "candidate-exporters";

    /// <summary>Set or release a legal hold.</summary>
    public const string LegalHoldEditors = "legal-hold-editors";

    public static void Add(Microsoft.AspNetCore.Authorization.AuthorizationOptions options)
    {
        options.AddPolicy(CandidateReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Integration, Roles.Recruiter, Roles.Legal));
        options.AddPolicy(CandidateErasers, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Integration));
        options.AddPolicy(CandidateExporters, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Integration, Roles.Legal));
        options.AddPolicy(LegalHoldEditors, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Legal));
        options.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin));
        options.AddPolicy(AuditReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Legal));
        options.AddPolicy(TemplateReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Recruiter, Roles.Interviewer, Roles.Legal));
        options.AddPolicy(TemplateWriters, p => p.RequireAuthenticatedUser().RequireRole(Roles.Recruiter, Roles.Legal));
        options.AddPolicy(Legal, p => p.RequireAuthenticatedUser().RequireRole(Roles.Legal));
        options.AddPolicy(FeedbackAuthors, p => p.RequireAuthenticatedUser().RequireRole(Roles.Recruiter, Roles.Interviewer));
        options.AddPolicy(FeedbackReviewers, p => p.RequireAuthenticatedUser().RequireRole(Roles.Recruiter, Roles.Legal));
        options.AddPolicy(DeliveryReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Recruiter, Roles.Legal));
        options.AddPolicy(DeliveryOperators, p => p.RequireAuthenticatedUser().RequireRole(Roles.Recruiter));
        options.AddPolicy(LanguageRuleReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Legal, Roles.Recruiter));
        options.AddPolicy(LanguageRuleEditors, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Legal));
        options.AddPolicy(FeedbackReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Recruiter, Roles.Interviewer, Roles.Legal));
        options.AddPolicy(ApplicationWriters, p => p.RequireAuthenticatedUser().RequireRole(Roles.Integration, Roles.Recruiter));
        options.AddPolicy(ApplicationReaders, p => p.RequireAuthenticatedUser().RequireRole(Roles.Integration, Roles.Recruiter, Roles.Legal, Roles.Admin));
        options.AddPolicy(ApplicationViewers, p => p.RequireAuthenticatedUser()
            .RequireRole(Roles.Integration, Roles.Recruiter, Roles.Legal, Roles.Admin, Roles.Interviewer));
        // Everything else needs at least an authenticated key; endpoints opt out explicitly (health, public).
        options.FallbackPolicy = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(ApiKeyClaims.Scheme)
            .RequireAuthenticatedUser().Build();
    }
}
