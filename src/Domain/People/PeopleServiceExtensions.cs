using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Domain.People;

public static class PeopleServiceExtensions
{
    /// <summary>Lifetime of the link in an invitation or a password-reset email (one use: choosing a password renews the security stamp).</summary>
    public static readonly TimeSpan LinkLifetime = TimeSpan.FromDays(3);

    /// <summary>
    /// People's accounts as both hosts need them: Identity on PostgreSQL with its token providers (the worker issues the
    /// links in invitation and reset emails, the API checks them) and the Data Protection key ring in the database, so
    /// tokens and session cookies work on every replica.
    /// </summary>
    public static IdentityBuilder AddFeedbackHubPeople(this IServiceCollection services)
    {
        services.AddDataProtection()
            .SetApplicationName("FeedbackHub")
            .PersistKeysToDbContext<FeedbackHubDbContext>();
        services.AddWebhookSecrets();
        services.AddOptions<KeyManagementOptions>()
            .Configure<WebhookSecretBox>((o, box) => o.XmlEncryptor = new SealedXmlEncryptor(box));
        services.Configure<DataProtectionTokenProviderOptions>(o => o.TokenLifespan = LinkLifetime);
        services.AddScoped<PeopleDirectory>();
        services.AddScoped<PersonNotifications>();
        services.AddScoped<PersonSecurity>();
        return services.AddIdentityCore<Person>(o =>
            {
                o.User.RequireUniqueEmail = true;
                // Length over composition rules (NIST SP 800-63B 3.1.1.2): 12 characters, any kind.
                o.Password.RequiredLength = 12;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 4;
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
            })
            .AddUserStore<PersonStore>()
            .AddDefaultTokenProviders();
    }
}
