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

    /// <summary>
    /// Identity's user manager is built anew for every request that resolves it (validators, options, its meters behind a
    /// lock): a profile of the save bench found it built on every save, through the notifications. Only the people use
    /// cases may need it; the feedback, application and delivery use cases, the hot paths, must not reach it through any
    /// constructor.
    /// </summary>
    [Theory]
    [InlineData(typeof(FeedbackAuthoring))]
    [InlineData(typeof(ApplicationLifecycle))]
    [InlineData(typeof(CandidateRequests))]
    [InlineData(typeof(FeedbackEmails))]
    public void Hot_use_cases_do_not_build_Identitys_user_manager(Type useCase)
    {
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>([useCase]);
        while (pending.TryPop(out var type))
        {
            if (!seen.Add(type) || type.Assembly != useCase.Assembly)
                continue;
            foreach (var parameter in type.GetConstructors().SelectMany(c => c.GetParameters()))
            {
                Assert.False(
                    parameter.ParameterType.IsGenericType && parameter.ParameterType.GetGenericTypeDefinition() == typeof(Microsoft.AspNetCore.Identity.UserManager<>),
                    $"{useCase.Name} reaches UserManager through {type.Name}");
                pending.Push(parameter.ParameterType);
            }
        }

        Assert.Contains(typeof(FeedbackHub.Domain.Persistence.FeedbackHubDbContext), seen); // the walk reached the constructors' dependencies
    }

    private static IEnumerable<Type> Flatten(Type type) =>
        type.IsGenericType ? type.GetGenericArguments().SelectMany(Flatten).Prepend(type) : [type];
}
