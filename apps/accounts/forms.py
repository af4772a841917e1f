from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.services import user_register


class SignupForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+\Z", max_length=150,
                                error_messages={"invalid": "Use letters, digits and @/./+/-/_ only."})
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)

    def save(self, client=None):
        try:
            return user_register(username=self.cleaned_data["username"], password=self.cleaned_data["password"],
                                 client=client)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return None
