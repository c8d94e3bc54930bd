using System.Reflection;
using System.Security.Cryptography;
using FeedbackHub.Api.Features.People;
using FeedbackHub.Api.Infrastructure;
using Microsoft.AspNetCore.Identity;

namespace FeedbackHub.Api.Web;

/// <summary>
/// The HR web app under <c>/app/</c>: Razor Pages rendered on the server (docs/decisions/0013), signed in with a
/// person's session cookie, antiforgery on every form, its own assets from the assembly and a strict content policy.
/// </summary>
public static class WebApp
{
    public const string Prefix = "/app";

    /// <summary>Pages authorize with the session cookie, never an API key.</summary>
    public const string SessionPolicy = "app-session";

    public static IServiceCollection AddFeedbackHubWebApp(this IServiceCollection services)
    {
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Web/Pages";
            o.Conventions.AuthorizeFolder("/", SessionPolicy);
            o.Conventions.AllowAnonymousToFolder("/Account");
            o.Conventions.AllowAnonymousToPage("/Error");
        });
        services.AddAuthorizationBuilder().AddPolicy(SessionPolicy, p => p
            .AddAuthenticationSchemes(IdentityConstants.ApplicationScheme)
            .RequireAuthenticatedUser());
        return services;
    }

    public static bool IsAppPath(PathString path) => path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The app's pages (HTML errors); its JSON endpoints under <c>/app/api</c> answer problem details like the API.</summary>
    public static bool IsPagePath(PathString path) =>
        IsAppPath(path) && !path.StartsWithSegments(Prefix + "/api", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The policy of an email shown in a frame (the review's preview): sandboxed, no script, inline styles only (as
    /// emails carry them), images only inline, framed only by the app itself.
    /// </summary>
    public const string EmailFramePolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

    /// <summary>Content policy and framing rules for every page of the app (a response that set its own keeps it).</summary>
    public static WebApplication UseFeedbackHubWebAppHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (IsAppPath(context.Request.Path))
            {
                context.Response.OnStarting(static state =>
                {
                    var headers = ((HttpResponse)state).Headers;
                    headers["Referrer-Policy"] = "same-origin";
                    if (headers.ContainsKey("Content-Security-Policy"))
                        return Task.CompletedTask;
                    headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                        + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
                    headers.XFrameOptions = "DENY";
                    return Task.CompletedTask;
                }, context.Response);
            }

            return next(context);
        });
        return app;
    }

    public static WebApplication MapFeedbackHubWebApp(this WebApplication app)
    {
        app.MapGet(Prefix + "/assets/{name}", ServeAsset).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/favicon.ico", () => Results.Redirect(AssetUrl("favicon.svg"))).AllowAnonymous().ExcludeFromDescription();
        app.MapLiveLanguageCheck();
        app.MapRazorPages();
        // Any other path under /app is the app's 404 page (not the API's 401 for an unknown path).
        app.MapFallback(Prefix + "/{**path}", () => Results.NotFound()).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static readonly Dictionary<string, (byte[] Body, string Type, string ETag)> Assets = LoadAssets();

    /// <summary>The stylesheet and scripts, embedded in the assembly: one deployable, nothing to copy.</summary>
    public static string AssetUrl(string name) => $"{Prefix}/assets/{name}?v={Assets[name].ETag.Trim('"')}";

    private static IResult ServeAsset(string name, HttpContext context)
    {
        if (!Assets.TryGetValue(name, out var asset))
            return Results.NotFound();
        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        return Results.Bytes(asset.Body, asset.Type, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue(asset.ETag));
    }

    private static Dictionary<string, (byte[], string, string)> LoadAssets()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var assets = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        const string prefix = "FeedbackHub.Web.";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var body = buffer.ToArray();
            var name = resource[prefix.Length..];
            var type = Path.GetExtension(name) switch
            {
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "text/javascript; charset=utf-8",
            };
            assets[name] = (body, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(body))[..16]}\"");
        }

        return assets;
    }
}
