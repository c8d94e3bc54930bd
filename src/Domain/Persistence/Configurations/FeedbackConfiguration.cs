using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Templates;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class FeedbackConfiguration : IEntityTypeConfiguration<Feedback>
{
    public void Configure(EntityTypeBuilder<Feedback> builder)
    {
        builder.HasKey(f => f.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(f => f.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Application>().WithMany().HasForeignKey(f => f.ApplicationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Template>().WithMany().HasForeignKey(f => f.TemplateId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(f => f.ApplicationId).IsUnique(); // one feedback per application
        builder.HasIndex(f => new { f.TenantId, f.Status, f.Id });
        builder.Property(f => f.Status).HasConversion<string>().HasMaxLength(20);
        builder.Property(f => f.Answers).AsJson();
        builder.Property(f => f.Findings).AsJson();
        builder.Property(f => f.Acknowledgements).AsJson();
        builder.Property(f => f.LastChangeRequest).AsJson();
        builder.Property(f => f.AuthorName).HasMaxLength(100);
        builder.Property(f => f.ApprovedByName).HasMaxLength(100);
        builder.Property(f => f.ReviewComment).HasMaxLength(2000);
        builder.Property(f => f.Version).IsConcurrencyToken();
    }
}
