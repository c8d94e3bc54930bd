using Microsoft.AspNetCore.Identity;

namespace FeedbackHub.Api.Features.People;

/// <summary>The session cookie of the web app.</summary>
internal static class PeopleSessions
{
    public const string SignInPath = "/app/sign-in";

    public static IServiceCollection AddPeopleSessions(this IServiceCollection services, IHostEnvironment environment)
    {
        services.ConfigureApplicationCookie(o =>
        {
            o.Cookie.Name = "fh_session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = environment.IsDevelopment() ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.LoginPath = SignInPath;
            o.LogoutPath = "/app/sign-out";
            o.AccessDeniedPath = "/app/denied";
            o.ReturnUrlParameter = "returnUrl";
        });
        // Every request checks the person's security stamp (one query by key): a removed person, new roles or a new
        // password end the old sessions on their next request, on every replica.
        services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.Zero);
        return services;
    }
}
