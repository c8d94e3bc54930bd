using System.Reflection;
using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;

namespace FeedbackHub.Domain.Tests.UseCases;

/// <summary>The use cases serve two front doors (the API and the web app's pages), so they must not know either.</summary>
public sealed class UseCaseShapeTests
{
    private static readonly Type[] UseCases = [typeof(FeedbackAuthoring), typeof(ApplicationLifecycle), typeof(CandidateRequests), typeof(FeedbackEmails), typeof(People.PeopleDirectory), typeof(People.PersonSecurity)];

    /// <summary>Identity (people's accounts) and Data Protection are libraries both hosts share; nothing of HTTP is.</summary>
    private static readonly string[] SharedLibraries =
    [
        "Microsoft.AspNetCore.Identity", "Microsoft.AspNetCore.Identity.EntityFrameworkCore",
        "Microsoft.AspNetCore.DataProtection", "Microsoft.AspNetCore.DataProtection.EntityFrameworkCore",
    ];

    [Fact]
    public void Domain_references_no_ASP_NET_Core_HTTP_assembly()
    {
        var referenced = typeof(FeedbackAuthoring).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToList();
        Assert.Contains("Microsoft.AspNetCore.Identity", referenced); // the test still looks at what it means to
        Assert.DoesNotContain(referenced, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && !SharedLibraries.Contains(name));
    }

    [Fact]
    public void Use_case_methods_take_and_return_no_HTTP_type()
    {
        var methods = UseCases.SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)).ToList();
        Assert.NotEmpty(methods);
        foreach (var method in methods)
        {
            var types = method.GetParameters().Select(p => p.ParameterType).Append(method.ReturnType).SelectMany(Flatten);
            Assert.All(types, t => Assert.False(
                (t.Namespace ?? string.Empty).Contains("AspNetCore", StringComparison.Ordinal) && t.Namespace != "Microsoft.AspNetCore.Identity",
                $"{method.DeclaringType!.Name}.{method.Name} uses {t.FullName}"));
        }
    }

    private static IEnumerable<Type> Flatten(Type type) =>
        type.IsGenericType ? type.GetGenericArguments().SelectMany(Flatten).Prepend(type) : [type];
}
