using System.Security.Claims;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Api.Features.People;

/// <summary>A session's claims: the tenant, the person, their display name and roles (the same claims an API key gives).</summary>
internal sealed class PersonClaimsFactory(UserManager<Person> users, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<Person>(users, options)
{
    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(Person user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        // Identity names the user by their email; sessions are named by display name (the audit log's actor).
        foreach (var name in identity.FindAll(identity.NameClaimType).ToList())
            identity.RemoveClaim(name);
        identity.AddClaim(new Claim(identity.NameClaimType, user.DisplayName));
        identity.AddClaim(new Claim(ApiKeyClaims.TenantId, user.TenantId.ToString()));
        identity.AddClaim(new Claim(ApiKeyClaims.PersonId, user.Id.ToString()));
        foreach (var role in user.Roles)
            identity.AddClaim(new Claim(identity.RoleClaimType, role));
        return identity;
    }
}

/// <summary>A removed person cannot sign in, whatever their password.</summary>
internal sealed class PersonSignInManager(
    UserManager<Person> users,
    IHttpContextAccessor accessor,
    IUserClaimsPrincipalFactory<Person> claims,
    IOptions<IdentityOptions> options,
    ILogger<SignInManager<Person>> logger,
    Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider schemes,
    IUserConfirmation<Person> confirmation)
    : SignInManager<Person>(users, accessor, claims, options, logger, schemes, confirmation)
{
    public override async Task<bool> CanSignInAsync(Person user) =>
        user.IsActive && user.HasJoined && await base.CanSignInAsync(user);
}
