using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;

namespace FeedbackHub.Api.Features.People;

/// <summary>The session cookie of the web app, and the antiforgery cookie beside it.</summary>
internal static class PeopleSessions
{
    public const string SignInPath = "/app/sign-in";

    /// <summary>
    /// <c>FeedbackHub:SecureCookies</c>: session and antiforgery cookies only over HTTPS. On unless Development; turn it
    /// off only where the app is served over plain HTTP on loopback (the tests).
    /// </summary>
    public static CookieSecurePolicy SecurePolicy(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetValue("FeedbackHub:SecureCookies", !environment.IsDevelopment()) ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;

    public static IServiceCollection AddPeopleSessions(this IServiceCollection services)
    {
        services.AddOptions<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme)
            .Configure<IConfiguration, IHostEnvironment>((o, configuration, environment) =>
            {
                o.Cookie.Name = "fh_session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = SecurePolicy(configuration, environment);
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.LoginPath = SignInPath;
                o.LogoutPath = "/app/account/sign-out";
                o.AccessDeniedPath = "/app/denied";
                o.ReturnUrlParameter = "returnUrl";
            });
        // Between the password and the authenticator code: who passed the password, for 5 minutes, nothing more.
        services.AddOptions<CookieAuthenticationOptions>(IdentityConstants.TwoFactorUserIdScheme)
            .Configure<IConfiguration, IHostEnvironment>((o, configuration, environment) =>
            {
                o.Cookie.Name = "fh_two_step";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = SecurePolicy(configuration, environment);
                o.ExpireTimeSpan = TimeSpan.FromMinutes(5);
            });
        services.AddOptions<AntiforgeryOptions>()
            .Configure<IConfiguration, IHostEnvironment>((o, configuration, environment) =>
            {
                o.Cookie.Name = "fh_antiforgery";
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = SecurePolicy(configuration, environment);
                o.HeaderName = "X-CSRF-Token";
            });
        // Every request checks the person's security stamp (one query by key): a removed person, new roles or a new
        // password end the old sessions on their next request, on every replica.
        services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.Zero);
        return services;
    }
}
