using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Tests;

/// <summary>People who have joined (chosen a password), made the way the set-password page leaves them.</summary>
public static class PeopleSteps
{
    public const string Password = "correct horse battery staple";

    /// <summary>The code an authenticator app shows now for <paramref name="key"/> (RFC 6238: 30 s, 6 digits; spaces and case ignored).</summary>
    public static string AuthenticatorCode(string key) =>
        new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(key.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant())).ComputeTotp();

    public static string NewEmail(string name) => $"{name}.{Guid.NewGuid():N}@example.com";

    /// <summary>A person of <paramref name="tenant"/> with <see cref="Password"/>; returns their id and email.</summary>
    public static async Task<(Guid Id, string Email)> JoinedAsync(TestTenant tenant, string displayName, params string[] roles)
    {
        await using var scope = tenant.Factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<Person>>();
        var person = Person.Invite(tenant.Id, NewEmail(roles[0]), displayName, roles, "test", DateTimeOffset.UtcNow);
        var result = await users.CreateAsync(person, Password);
        if (!result.Succeeded)
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
        return (person.Id, person.Email!);
    }
}
