"use client";
import { AuthFrame } from "@/components/auth-frame";
import { ChoosePassword } from "@/components/auth/choose-password";

export default function SetupPage() {
  return (
    <AuthFrame
      title="Set up your organisation"
      subtitle="You are the first administrator. Choose a password, then sign in to add departments and invite your team."
    >
      <ChoosePassword kind="setup" />
    </AuthFrame>
  );
}
